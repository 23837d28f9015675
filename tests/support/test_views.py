"""The client area's Support center: scoping, rights, notes hidden, downloads, forms."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Access
from support import tickets
from support.models import Ticket, TicketStatus
from tests.factories.accounts import ClientUserFactory, StaffFactory
from tests.factories.services import ServiceFactory
from tests.factories.support import WHEN, SupportDepartmentFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _ticket(client, **fields):
    return tickets.ticket_open(client=client, user=None, department=SupportDepartmentFactory(),
                               subject="Site down", body="It does not answer.", now=WHEN,
                               **fields)


def test_open_a_ticket_about_a_service(owner_client, owner):
    service = ServiceFactory(client=owner.client)
    page = owner_client.get(reverse("support:ticket_create") + f"?service={service.pk}")
    assert page.status_code == 200
    assert f'<option value="{service.pk}" selected>' in page.content.decode()
    response = owner_client.post(reverse("support:ticket_create"), {
        "department": SupportDepartmentFactory().pk, "service": service.pk,
        "priority": "high", "subject": "Disk full", "body": "Please look.",
        "attachments": [SimpleUploadedFile("shot.png", PNG)]})
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert (ticket.client, ticket.service, ticket.opened_by) == (owner.client, service,
                                                                 owner.user)
    assert ticket.messages.get().attachments.get().content_type == "image/png"


def test_the_service_page_asks_a_question_about_it(owner_client, owner):
    service = ServiceFactory(client=owner.client)
    page = owner_client.get(reverse("services:detail", args=[service.pk])).content.decode()
    assert reverse("support:ticket_create") + f"?service={service.pk}" in page


def test_another_clients_service_cannot_be_chosen(owner_client):
    foreign = ServiceFactory()
    response = owner_client.post(reverse("support:ticket_create"), {
        "department": SupportDepartmentFactory().pk, "service": foreign.pk,
        "priority": "normal", "subject": "x", "body": "y"})
    assert response.status_code == 200
    assert not Ticket.objects.exists()


def test_a_bad_attachment_is_a_form_error(owner_client):
    response = owner_client.post(reverse("support:ticket_create"), {
        "department": SupportDepartmentFactory().pk, "priority": "normal", "subject": "x",
        "body": "y", "attachments": [SimpleUploadedFile("run.exe", b"MZ\x90\x00" + b"\0" * 99)]})
    assert response.status_code == 200
    assert "not an allowed type" in response.content.decode()
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("name", ["support:ticket", "support:reply", "support:close",
                                  "support:reopen", "support:rate"])
def test_another_clients_ticket_is_404(owner_client, name):
    foreign = _ticket(ClientUserFactory(owner=True).client)
    url = reverse(name, args=[foreign.pk])
    response = owner_client.get(url) if name == "support:ticket" else owner_client.post(
        url, {"body": "hi", "rating": 5})
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == TicketStatus.NEW


def test_another_clients_attachment_is_404(owner_client):
    foreign = _ticket(ClientUserFactory(owner=True).client,
                      attachments=[SimpleUploadedFile("a.png", PNG)])
    attachment = foreign.messages.get().attachments.get()
    assert owner_client.get(reverse("support:attachment", args=[attachment.pk])
                            ).status_code == 404


def test_an_attachment_is_always_a_download(owner_client, owner):
    ticket = _ticket(owner.client, attachments=[SimpleUploadedFile("a.pdf", PNG)])
    attachment = ticket.messages.get().attachments.get()
    response = owner_client.get(reverse("support:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG


def test_internal_notes_are_never_shown(owner_client, owner):
    ticket = _ticket(owner.client)
    tickets.ticket_note(ticket=ticket, user=StaffFactory(), body="Client is rude.", now=WHEN,
                        attachments=[SimpleUploadedFile("secret.png", PNG)])
    tickets.ticket_reply_staff(ticket=ticket, user=StaffFactory(), body="We fixed it.",
                               now=WHEN)
    page = owner_client.get(reverse("support:ticket", args=[ticket.pk])).content.decode()
    assert "We fixed it." in page
    assert "Client is rude." not in page
    assert "secret.png" not in page
    note_file = ticket.messages.get(kind="internal_note").attachments.get()
    assert owner_client.get(reverse("support:attachment", args=[note_file.pk])
                            ).status_code == 404


@pytest.mark.parametrize(("access", "read_status", "write_status"), [
    (Access.NONE, 403, 403),
    (Access.READ, 200, 403),
    (Access.MANAGE, 200, 302),
])
def test_the_support_right(client, access, read_status, write_status):
    member = ClientUserFactory(support_access=access)
    ticket = _ticket(member.client)
    client.force_login(member.user)
    assert client.get(reverse("support:tickets")).status_code == read_status
    assert client.get(reverse("support:ticket", args=[ticket.pk])).status_code == read_status
    response = client.post(reverse("support:reply", args=[ticket.pk]), {"body": "More."})
    assert response.status_code == write_status
    assert ticket.messages.count() == (2 if write_status == 302 else 1)


def test_reply_close_reopen_and_rate(owner_client, owner):
    ticket = _ticket(owner.client)
    url = reverse("support:ticket", args=[ticket.pk])
    assert owner_client.post(reverse("support:reply", args=[ticket.pk]),
                             {"body": "Any news?"}).status_code == 302
    assert owner_client.post(reverse("support:close", args=[ticket.pk])).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    archive = owner_client.get(reverse("support:archive")).content.decode()
    assert ticket.display_number in archive
    bad = owner_client.post(reverse("support:rate", args=[ticket.pk]), {"rating": "9"})
    assert bad.status_code == 422
    assert owner_client.post(reverse("support:rate", args=[ticket.pk]),
                             {"rating": "4", "comment": "ok"}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.rating == 4
    assert owner_client.get(url).status_code == 200
    assert owner_client.post(reverse("support:reopen", args=[ticket.pk])).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_STAFF


def test_the_menu_has_the_support_center(owner_client):
    page = owner_client.get(reverse("support:tickets")).content.decode()
    assert "Support center" in page
    assert reverse("support:archive") in page

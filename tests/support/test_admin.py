"""The staff panel's tickets: who may look, who may answer, and what an answer does."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Notification
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support import tickets
from support.models import MessageKind, TicketStatus
from tests.factories.accounts import ClientFactory, StaffFactory
from tests.factories.support import WHEN, SupportDepartmentFactory


def _client_mail():
    # The mail to the client's own address (followers get theirs under longer keys).
    return Notification.objects.filter(event="ticket_answered", key__regex=r"^ticket_answered:\d+$")


pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _employee(client, department: str):
    employee = StaffFactory()
    employee.groups.add(department_sync(name=department,
                                        codenames=DEFAULT_DEPARTMENTS[department]))
    client.force_login(employee)
    return employee


def _form(ticket, **data) -> dict:
    """The answer form as the ticket's page hands it out: it saw the newest message."""
    return {"seen_up_to": ticket.messages.order_by("-id").first().pk,
            "token": uuid.uuid4().hex, **data}


@pytest.fixture
def ticket():
    return tickets.ticket_open(client=ClientFactory(), user=None,
                               department=SupportDepartmentFactory(), subject="Disk full",
                               body="Help.", now=WHEN,
                               attachments=[SimpleUploadedFile("df.png", PNG)])


def test_technical_support_answers_and_the_client_is_told(client, ticket):
    employee = _employee(client, "Technical support")
    page = client.get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    assert page.status_code == 200
    assert "Help." in page.content.decode()
    response = client.post(reverse("admin:support_ticket_reply", args=[ticket.pk]),
                           _form(ticket, kind="staff", body="We freed 10 GB."))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_CLIENT
    assert ticket.assignee == employee
    assert _client_mail().get().client == ticket.client


def test_an_internal_note_tells_nobody(client, ticket):
    _employee(client, "Technical support")
    client.post(reverse("admin:support_ticket_reply", args=[ticket.pk]),
                _form(ticket, kind="internal_note", body="Customer runs a backup at 3am."))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW
    assert ticket.messages.filter(kind=MessageKind.INTERNAL_NOTE).count() == 1
    assert not Notification.objects.exists()


@pytest.mark.parametrize("department", ["Accounting", "Sales"])
def test_other_departments_only_look(client, ticket, department):
    employee = _employee(client, department)
    ticket.department.staff_departments.add(*employee.groups.values_list("pk", flat=True))
    assert client.get(reverse("admin:support_ticket_changelist")).status_code == 200
    page = client.get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    assert page.status_code == 200
    assert "admin:support_ticket_reply" not in page.content.decode()
    assert reverse("admin:support_ticket_reply", args=[ticket.pk]) not in page.content.decode()
    response = client.post(reverse("admin:support_ticket_reply", args=[ticket.pk]),
                           _form(ticket, kind="staff", body="Hi"))
    assert response.status_code == 403
    assert ticket.messages.count() == 1


def test_an_empty_reply_changes_nothing(client, ticket):
    _employee(client, "Technical support")
    response = client.post(reverse("admin:support_ticket_reply", args=[ticket.pk]),
                           _form(ticket, kind="staff", body=""))
    assert response.status_code == 422  # the ticket's page again, the form saying why
    assert ticket.messages.count() == 1


def test_staff_download_attachments_of_that_ticket_only(client, ticket):
    _employee(client, "Technical support")
    attachment = ticket.messages.get().attachments.get()
    ok = client.get(reverse("admin:support_ticket_attachment", args=[ticket.pk, attachment.pk]))
    assert ok.status_code == 200
    assert ok["Content-Disposition"].startswith("attachment;")
    other = tickets.ticket_open(client=ClientFactory(), user=None,
                                department=ticket.department, subject="x", body="y", now=WHEN)
    assert client.get(reverse("admin:support_ticket_attachment",
                              args=[other.pk, attachment.pk])).status_code == 404


def test_the_queue_filters(client, ticket):
    _employee(client, "Technical support")
    closed = tickets.ticket_open(client=ClientFactory(), user=None,
                                 department=ticket.department, subject="Old one", body="y",
                                 now=WHEN)
    tickets.ticket_close(ticket=closed, now=WHEN)
    url = reverse("admin:support_ticket_changelist")
    active = client.get(url).content.decode()
    assert "Disk full" in active
    assert "Old one" not in active
    assert "Old one" in client.get(url + "?queue=all").content.decode()
    assert "Disk full" not in client.get(url + "?status=closed&queue=all").content.decode()

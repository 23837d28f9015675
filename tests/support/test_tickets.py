"""The ticket writes: status rules, numbers, the re-open window, sanitizing, attachments."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Notification
from support import tickets
from support.models import Message, MessageKind, StaffMail, Ticket, TicketStatus
from tests.factories.accounts import ClientFactory, DepartmentFactory, StaffFactory
from tests.factories.services import ServiceFactory
from tests.factories.support import WHEN, SupportDepartmentFactory, TicketFactory
from tests.notifications import notifications_deliver

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200


def _open(client, **fields):
    fields.setdefault("department", SupportDepartmentFactory())
    return tickets.ticket_open(client=client, user=None, subject="Site down",
                               body="It does not answer.", now=WHEN, **fields)


@pytest.mark.parametrize(("status", "by_staff", "reopen_allowed", "expected"), [
    (TicketStatus.NEW, False, True, TicketStatus.NEW),
    (TicketStatus.AWAITING_CLIENT, False, True, TicketStatus.AWAITING_STAFF),
    (TicketStatus.AWAITING_STAFF, False, True, TicketStatus.AWAITING_STAFF),
    (TicketStatus.ON_HOLD, False, True, TicketStatus.AWAITING_STAFF),
    (TicketStatus.CLOSED, False, True, TicketStatus.AWAITING_STAFF),
    (TicketStatus.CLOSED, False, False, None),
    (TicketStatus.NEW, True, True, TicketStatus.AWAITING_CLIENT),
    (TicketStatus.AWAITING_STAFF, True, True, TicketStatus.AWAITING_CLIENT),
    (TicketStatus.ON_HOLD, True, True, TicketStatus.AWAITING_CLIENT),
    (TicketStatus.CLOSED, True, True, TicketStatus.AWAITING_CLIENT),
])
def test_reply_status_rules(status, by_staff, reopen_allowed, expected):
    assert tickets.reply_status(status=status, by_staff=by_staff,
                                reopen_allowed=reopen_allowed) == expected


def test_numbers_are_six_digits_and_unique_per_provider():
    client = ClientFactory()
    numbers = [_open(client).number for _ in range(30)]
    assert all(100000 <= n <= 999999 for n in numbers)
    assert len(set(numbers)) == 30


def test_a_number_collision_draws_again(monkeypatch):
    client = ClientFactory()
    first = _open(client)
    draws = iter([first.number, first.number, 123456])
    monkeypatch.setattr(tickets, "_new_number", lambda: next(draws))
    assert _open(client).number == 123456


def test_subject_token():
    ticket = TicketFactory(number=654321)
    assert ticket.subject_token == "[#T-654321]"


def test_a_service_of_another_client_is_refused():
    client = ClientFactory()
    foreign = ServiceFactory()
    with pytest.raises(ValidationError):
        _open(client, service=foreign)
    assert not Ticket.objects.exists()


def test_staff_reply_awaits_the_client_and_mails_them():
    ticket = _open(ClientFactory(email="client@example.com"))
    staff = StaffFactory()
    mail.outbox.clear()
    tickets.ticket_reply_staff(ticket=ticket, user=staff, body="Fixed.", now=WHEN)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_CLIENT
    assert ticket.assignee == staff
    notification = Notification.objects.get(event="ticket_answered")
    assert ticket.subject_token in notification.subject
    assert "Fixed." in notification.body


@pytest.mark.django_db(transaction=True)
def test_staff_reply_is_mailed_after_commit():
    ticket = _open(ClientFactory(email="client@example.com"))
    mail.outbox.clear()
    tickets.ticket_reply_staff(ticket=ticket, user=StaffFactory(), body="Fixed.", now=WHEN)
    assert not mail.outbox  # written ahead; a worker sends it
    notifications_deliver()
    assert [m.to for m in mail.outbox] == [["client@example.com"]]
    assert ticket.subject_token in mail.outbox[0].subject


def test_new_tickets_are_written_for_the_departments_staff_not_mailed_here():
    support = DepartmentFactory(name="Technical support")
    member = StaffFactory(email="tech@example.com")
    member.groups.add(support)
    StaffFactory(email="other@example.com")
    mail.outbox.clear()
    ticket = _open(ClientFactory())
    assert not mail.outbox  # a worker sends it (tests/support/test_staff_notifications.py)
    assert [(m.email, m.status) for m in StaffMail.objects.filter(ticket=ticket)] == [
        ("tech@example.com", "pending")]


def test_a_note_changes_nothing_the_client_sees():
    ticket = _open(ClientFactory())
    tickets.ticket_note(ticket=ticket, user=StaffFactory(), body="Looks like DNS.", now=WHEN)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW
    assert not Notification.objects.exists()
    assert ticket.messages.filter(kind=MessageKind.INTERNAL_NOTE).count() == 1


@pytest.mark.parametrize(("days_after_close", "reopened"), [
    (0, True), (7, True), (8, False), (30, False),
])
def test_a_client_reply_to_a_closed_ticket(days_after_close, reopened):
    ticket = _open(ClientFactory(), department=SupportDepartmentFactory(reopen_days=7))
    tickets.ticket_close(ticket=ticket, now=WHEN)
    later = WHEN + timedelta(days=days_after_close)
    landed = tickets.ticket_reply_client(ticket=ticket, user=None, body="Again.", now=later)
    ticket.refresh_from_db()
    if reopened:
        assert landed.pk == ticket.pk
        assert ticket.status == TicketStatus.AWAITING_STAFF
        assert ticket.closed_at is None
    else:
        assert landed.pk != ticket.pk
        assert landed.linked_to == ticket
        assert landed.status == TicketStatus.NEW
        assert ticket.status == TicketStatus.CLOSED
        assert landed.messages.get().body_text == "Again."


def test_reopen_after_the_window_is_refused():
    ticket = _open(ClientFactory())
    tickets.ticket_close(ticket=ticket, now=WHEN)
    with pytest.raises(ValidationError):
        tickets.ticket_reopen(ticket=ticket, now=WHEN + timedelta(days=8))
    tickets.ticket_reopen(ticket=ticket, now=WHEN + timedelta(days=1))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_STAFF


@pytest.mark.parametrize(("rating", "ok"), [(0, False), (1, True), (5, True), (6, False)])
def test_rating_a_closed_ticket(rating, ok):
    ticket = _open(ClientFactory())
    with pytest.raises(ValidationError):
        tickets.ticket_rate(ticket=ticket, rating=3)  # still open
    tickets.ticket_close(ticket=ticket, now=WHEN)
    if ok:
        tickets.ticket_rate(ticket=ticket, rating=rating, comment="Quick")
        ticket.refresh_from_db()
        assert (ticket.rating, ticket.rating_comment) == (rating, "Quick")
    else:
        with pytest.raises(ValidationError):
            tickets.ticket_rate(ticket=ticket, rating=rating)


def test_html_is_sanitized():
    ticket = tickets.ticket_open(
        client=ClientFactory(), user=None, department=SupportDepartmentFactory(), subject="x",
        body="text", html='<p onclick="steal()">Hi<script>alert(1)</script></p>', now=WHEN)
    html = Message.objects.get(ticket=ticket).body_html
    assert "script" not in html
    assert "onclick" not in html
    assert "Hi" in html


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_attachment_type_comes_from_the_content(media):
    upload = SimpleUploadedFile("invoice.pdf", PNG, content_type="application/pdf")
    ticket = _open(ClientFactory(), attachments=[upload])
    attachment = ticket.messages.get().attachments.get()
    assert attachment.content_type == "image/png"
    assert attachment.original_name == "invoice.pdf"
    assert attachment.size == len(PNG)
    assert attachment.file.read() == PNG
    assert str(media) in attachment.file.path


@pytest.mark.parametrize("upload", [
    SimpleUploadedFile("setup.exe", EXE),
    SimpleUploadedFile("photo.png", EXE, content_type="image/png"),
])
def test_a_forbidden_type_is_refused(media, upload):
    with pytest.raises(ValidationError, match="not an allowed type"):
        _open(ClientFactory(), attachments=[upload])
    assert not Ticket.objects.exists()


def test_an_oversized_file_is_refused(media, settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 100
    with pytest.raises(ValidationError, match="at most 100"):
        _open(ClientFactory(), attachments=[SimpleUploadedFile("a.png", PNG * 3)])
    assert not Ticket.objects.exists()

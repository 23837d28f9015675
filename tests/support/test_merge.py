"""Merging two tickets of one client: the thread moves, the source points at the target,
and mail to the source lands in the target."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import ActionLog
from support import inbound, tickets
from support.addresses import reply_address
from support.merge import merged_priority, merged_status, ticket_merge
from support.models import InboundOutcome, Message, MessageKind, Priority, TicketStatus
from tests.factories.accounts import ClientFactory, ClientUserFactory
from tests.factories.support import WHEN
from tests.support.staff import employee, queues, ticket

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
S = TicketStatus


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def pair():
    """Two tickets of one client about the same outage, their messages interleaved in
    time: target at 10:00 and 10:20, source at 10:10 (with a screenshot) and 10:30."""
    technical, _billing = queues()
    me = employee()
    writer = ClientUserFactory(user__email="dana@client.example")
    customer = writer.client
    at = WHEN.replace(hour=10)
    target = tickets.ticket_open(client=customer, user=writer.user, department=technical,
                                 subject="Site down", body="target 1", now=at)
    source = tickets.ticket_open(client=customer, user=writer.user, department=technical,
                                 subject="Still down", body="source 1",
                                 now=at + timedelta(minutes=10),
                                 attachments=[SimpleUploadedFile("down.png", PNG)],
                                 message_id="<source-1@client.example>")
    tickets.ticket_reply_staff(ticket=target, user=me, body="target 2",
                               now=at + timedelta(minutes=20))
    tickets.ticket_reply_client(ticket=source, user=writer.user, body="source 2",
                                now=at + timedelta(minutes=30))
    return me, writer, source, target


def _merge(me, source, target, minutes=40):
    return ticket_merge(source=source, target=target, actor=me,
                        now=WHEN.replace(hour=10) + timedelta(minutes=minutes))


def test_the_thread_moves_in_time_order_and_the_source_points_at_the_target(pair):
    me, _writer, source, target = pair
    _merge(me, source, target)
    source.refresh_from_db()
    target.refresh_from_db()
    thread = [m.body_text for m in target.messages.exclude(kind=MessageKind.INTERNAL_NOTE)]
    assert thread == ["target 1", "source 1", "target 2", "source 2"]
    moved = target.messages.get(body_text="source 1")
    assert moved.attachments.get().original_name == "down.png"
    assert moved.message_id == "<source-1@client.example>"
    assert (source.status, source.merged_into) == (S.CLOSED, target)
    assert source.closed_at is not None
    # The client wrote last (in the source): staff owe the answer in the target.
    assert target.status == S.AWAITING_STAFF
    notes = list(target.messages.filter(kind=MessageKind.INTERNAL_NOTE)
                 .values_list("body_text", flat=True))
    assert len(notes) == 1
    assert source.display_number in notes[0]
    assert me.email in notes[0]
    assert list(source.messages.values_list("body_text", flat=True)) == [
        f"Merged into {target.display_number} by {me.email}."]
    assert ActionLog.objects.filter(action__in=["ticket.merged", "ticket.merged_into"]) \
        .count() == 2


def test_the_attachment_still_downloads_from_the_target(client, pair):
    me, _writer, source, target = pair
    _merge(me, source, target)
    client.force_login(me)
    attachment = Message.objects.get(body_text="source 1").attachments.get()
    response = client.get(reverse("admin:support_ticket_attachment",
                                  args=[target.pk, attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG


def test_merging_twice_does_nothing_twice(pair):
    me, _writer, source, target = pair
    _merge(me, source, target)
    _merge(me, source, target, minutes=50)
    assert target.messages.filter(kind=MessageKind.INTERNAL_NOTE).count() == 1
    assert ActionLog.objects.filter(action="ticket.merged").count() == 1


def test_what_cannot_be_merged(pair):
    me, writer, source, target = pair
    stranger = ticket(ClientFactory(), target.department, "Someone else's")
    third = tickets.ticket_open(client=writer.client, user=None, department=target.department,
                                subject="Third", body="x", now=WHEN)
    cases = [(source, source), (source, stranger), (stranger, target)]
    for left, right in cases:
        with pytest.raises(ValidationError):
            _merge(me, left, right)
    _merge(me, source, target)
    source.refresh_from_db()
    with pytest.raises(ValidationError):  # merged already, into another
        _merge(me, source, third)
    with pytest.raises(ValidationError):  # into a ticket that was itself merged
        _merge(me, third, source)
    assert third.messages.count() == 1
    assert stranger.messages.count() == 1


# Whose move it is after a merge, as a person reads the two threads.
@pytest.mark.parametrize(("target", "source", "expected"), [
    (S.AWAITING_CLIENT, S.AWAITING_STAFF, S.AWAITING_STAFF),
    (S.AWAITING_STAFF, S.AWAITING_CLIENT, S.AWAITING_STAFF),
    (S.NEW, S.AWAITING_CLIENT, S.AWAITING_STAFF),
    (S.AWAITING_CLIENT, S.NEW, S.AWAITING_STAFF),
    (S.NEW, S.ON_HOLD, S.AWAITING_STAFF),
    (S.NEW, S.CLOSED, S.NEW),
    (S.CLOSED, S.NEW, S.NEW),
    (S.ON_HOLD, S.AWAITING_CLIENT, S.ON_HOLD),
    (S.AWAITING_CLIENT, S.ON_HOLD, S.ON_HOLD),
    (S.CLOSED, S.AWAITING_STAFF, S.AWAITING_STAFF),
    (S.CLOSED, S.CLOSED, S.CLOSED),
    (S.AWAITING_CLIENT, S.CLOSED, S.AWAITING_CLIENT),
    (S.NEW, S.NEW, S.NEW),
])
def test_the_merged_status(target, source, expected):
    assert merged_status(target=target, source=source) == expected


@pytest.mark.parametrize(("target", "source", "expected"), [
    (Priority.LOW, Priority.URGENT, Priority.URGENT),
    (Priority.HIGH, Priority.NORMAL, Priority.HIGH),
    (Priority.NORMAL, Priority.NORMAL, Priority.NORMAL),
])
def test_the_merged_priority(target, source, expected):
    assert merged_priority(target=target, source=source) == expected


# Mail and the client area after a merge ---------------------------------------------------
def _mail(*, subject: str, to: str = "support@example.com", headers: str = "") -> bytes:
    return (f"From: Dana <dana@client.example>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{abs(hash((subject, to, headers)))}@client.example>\r\n"
            f"{headers}\r\nIt is still down.\r\n").encode()


@pytest.mark.parametrize("how", ["in_reply_to", "subject_token", "plus_address"])
def test_mail_to_the_merged_ticket_lands_in_the_target(pair, how):
    me, _writer, source, target = pair
    token_subject = f"Re: Still down {source.subject_token}"
    _merge(me, source, target)
    source.refresh_from_db()
    raw = {
        "in_reply_to": _mail(subject="Re: Still down",
                             headers="In-Reply-To: <source-1@client.example>\r\n"),
        "subject_token": _mail(subject=token_subject),
        "plus_address": _mail(subject="Re: Still down",
                              to=reply_address(source, "support@example.com")),
    }[how]
    receipt = inbound.receive(raw, route="pipe", now=WHEN + timedelta(hours=1))
    received = receipt.inbound
    assert (received.outcome, received.ticket_id) == (InboundOutcome.REPLY_ADDED, target.pk)
    assert target.messages.filter(body_text__contains="still down").exists()
    assert source.messages.count() == 1  # the merge note only


def test_a_client_area_reply_to_the_merged_ticket_lands_in_the_target(pair):
    me, writer, source, target = pair
    _merge(me, source, target)
    landed = tickets.ticket_reply_client(ticket=source, user=writer.user, body="Hello?",
                                         now=WHEN + timedelta(days=30))
    assert landed.pk == target.pk
    with pytest.raises(ValidationError):
        tickets.ticket_reopen(ticket=source, now=WHEN + timedelta(hours=1))


def test_a_staff_answer_on_the_merged_ticket_goes_to_the_target(pair):
    me, _writer, source, target = pair
    _merge(me, source, target)
    answer = tickets.ticket_reply_staff(ticket=source, user=me, body="Fixed.",
                                        now=WHEN + timedelta(hours=2))
    assert answer.ticket_id == target.pk
    source.refresh_from_db()
    assert source.status == S.CLOSED


# The staff pages --------------------------------------------------------------------------
def test_the_merge_page_asks_to_confirm_first(client, pair):
    me, _writer, source, target = pair
    client.force_login(me)
    url = reverse("admin:support_ticket_merge", args=[source.pk])
    assert target.display_number in client.get(url).content.decode()
    confirm = client.post(url, {"target": target.pk})
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.content.decode()
    source.refresh_from_db()
    assert source.merged_into is None
    done = client.post(url, {"target": target.pk, "confirm": "on"})
    assert done["Location"] == reverse("admin:support_ticket_change", args=[target.pk])
    again = client.post(url, {"target": target.pk, "confirm": "on"})  # a double submit
    assert again.status_code == 302
    source.refresh_from_db()
    assert source.merged_into == target
    assert target.messages.filter(kind=MessageKind.INTERNAL_NOTE).count() == 1
    page = client.get(reverse("admin:support_ticket_change", args=[source.pk]))
    assert f"Merged into {target.display_number}" in page.content.decode()


def test_a_ticket_of_another_client_is_not_offered(client, pair):
    me, _writer, source, target = pair
    stranger = ticket(ClientFactory(), target.department, "Someone else's")
    client.force_login(me)
    url = reverse("admin:support_ticket_merge", args=[source.pk])
    assert stranger.display_number not in client.get(url).content.decode()
    response = client.post(url, {"target": stranger.pk, "confirm": "on"})
    assert response.status_code == 200
    source.refresh_from_db()
    assert source.merged_into is None


@pytest.mark.parametrize("staff_department", ["Accounting", "Sales"])
def test_merge_needs_its_permission(client, pair, staff_department):
    _me, _writer, source, target = pair
    looker = employee(staff_department=staff_department)
    source.department.staff_departments.add(*looker.groups.values_list("pk", flat=True))
    client.force_login(looker)
    url = reverse("admin:support_ticket_merge", args=[source.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"target": target.pk, "confirm": "on"}).status_code == 403
    source.refresh_from_db()
    assert source.merged_into is None

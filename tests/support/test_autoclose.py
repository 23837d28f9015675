"""Auto-close after N days awaiting the client, with one warning M days before, cancelled
by a client reply; archiving of old closed tickets. Both as functions of ``now``."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Notification
from support import tickets
from support.autoclose import archive, autoclose
from support.models import MessageKind, Ticket, TicketStatus
from support.selectors import ticket_list
from support.sla import sla_track
from tests.factories.accounts import ClientFactory, StaffFactory
from tests.factories.support import SupportDepartmentFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def day(days: float) -> datetime:
    return T0 + timedelta(days=days)


@pytest.fixture
def department():
    return SupportDepartmentFactory(autoclose_days=7, autoclose_warning_days=2,
                                    archive_days=30)


@pytest.fixture
def staff():
    return StaffFactory()


@pytest.fixture
def waiting(department, staff):
    """Opened and answered at T0: awaiting the client since T0."""
    ticket = tickets.ticket_open(client=ClientFactory(email="c@example.com"), user=None,
                                 department=department, subject="Down", body="Help", now=T0)
    tickets.ticket_reply_staff(ticket=ticket, user=staff, body="Try now", now=T0)
    ticket.refresh_from_db()
    return ticket


def _automatic(ticket):
    return list(ticket.messages.filter(author__isnull=True).exclude(kind=MessageKind.CLIENT)
                .order_by("created_at", "id")
                .values_list("kind", flat=True))


def test_warned_once_then_closed(waiting):
    assert autoclose(now=day(4.9)) == (0, 0)
    assert autoclose(now=day(5)) == (1, 0)          # 7 - 2 days into the wait
    assert autoclose(now=day(6)) == (0, 0)          # once
    assert autoclose(now=day(6.99)) == (0, 0)
    assert autoclose(now=day(7)) == (0, 1)
    assert autoclose(now=day(8)) == (0, 0)
    waiting.refresh_from_db()
    assert waiting.status == TicketStatus.CLOSED
    assert waiting.closed_at == day(7)
    assert _automatic(waiting) == [MessageKind.STAFF, MessageKind.INTERNAL_NOTE]
    warning = waiting.messages.get(author__isnull=True, kind=MessageKind.STAFF)
    assert "closed automatically" in warning.body_text
    # The client is mailed the warning like a staff reply.
    assert Notification.objects.filter(key=f"ticket_answered:{warning.pk}").exists()


def test_the_warning_is_no_first_response_and_restarts_nothing(department, staff):
    ticket = tickets.ticket_open(client=ClientFactory(), user=None, department=department,
                                 subject="Down", body="Help", now=T0)
    # Staff set it awaiting the client in the panel, without a reply.
    ticket.status = TicketStatus.AWAITING_CLIENT
    sla_track(ticket, now=T0)
    ticket.save()
    autoclose(now=day(5))
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None
    assert ticket.awaiting_client_since == T0
    assert autoclose(now=day(7)) == (0, 1)


def test_a_client_reply_cancels_the_warning(waiting, staff):
    autoclose(now=day(5))
    tickets.ticket_reply_client(ticket=waiting, user=None, body="Still broken", now=day(6))
    tickets.ticket_reply_staff(ticket=waiting, user=staff, body="And now?", now=day(6.5))
    assert autoclose(now=day(7)) == (0, 0)          # the old warning does not count
    assert autoclose(now=day(11.5)) == (1, 0)       # warned again, 5 days into the new wait
    assert autoclose(now=day(13.49)) == (0, 0)
    assert autoclose(now=day(13.5)) == (0, 1)


def test_another_staff_reply_gives_the_client_their_full_time(waiting, staff):
    autoclose(now=day(5))
    tickets.ticket_reply_staff(ticket=waiting, user=staff, body="One more thing", now=day(6))
    assert autoclose(now=day(7)) == (0, 0)
    assert autoclose(now=day(11)) == (1, 0)
    assert autoclose(now=day(13)) == (0, 1)


def test_after_downtime_the_client_still_gets_the_warning_days(waiting):
    assert autoclose(now=day(10)) == (1, 0)         # not warned and closed at once
    assert autoclose(now=day(11.9)) == (0, 0)
    assert autoclose(now=day(12)) == (0, 1)


def test_a_department_without_auto_close_never_closes(waiting, department):
    department.autoclose_days = 0
    department.save()
    assert autoclose(now=day(365)) == (0, 0)


@pytest.mark.parametrize("status", [TicketStatus.AWAITING_STAFF, TicketStatus.ON_HOLD])
def test_only_tickets_awaiting_the_client_close(waiting, status):
    waiting.status = status
    sla_track(waiting, now=day(1))
    waiting.save()
    assert autoclose(now=day(30)) == (0, 0)


def test_old_closed_tickets_are_archived_once(waiting):
    tickets.ticket_close(ticket=waiting, now=day(1))
    assert archive(now=day(30.9)) == 0
    assert archive(now=day(31)) == 1
    assert archive(now=day(32)) == 0
    waiting.refresh_from_db()
    assert waiting.archived_at == day(31)
    # Still in the client's "Archived tickets" (every closed ticket is), but final: a reply
    # opens a new linked ticket even inside a re-open window longer than the archive's.
    assert list(ticket_list(client=waiting.client, archived=True)) == [waiting]
    waiting.department.reopen_days = 60
    waiting.department.save()
    waiting.refresh_from_db()
    new = tickets.ticket_reply_client(ticket=waiting, user=None, body="Again", now=day(40))
    assert new.pk != waiting.pk
    assert new.linked_to == waiting


def test_an_archived_ticket_set_open_by_staff_leaves_the_archive(waiting):
    tickets.ticket_close(ticket=waiting, now=day(1))
    archive(now=day(31))
    ticket = Ticket.objects.get(pk=waiting.pk)
    ticket.status = TicketStatus.AWAITING_STAFF
    sla_track(ticket, now=day(32))
    assert ticket.archived_at is None

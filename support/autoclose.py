"""The clock's housekeeping of tickets, as functions of an explicit time (support.tasks
calls them on the beat):

- **auto-close**: a ticket awaiting the client for the department's ``autoclose_days`` is
  closed, but only after the client was warned (an automatic message in the ticket,
  mailed like a staff reply) ``autoclose_warning_days`` before, and had that many days
  to answer. The wait counts from ``awaiting_client_since`` (each staff reply restarts
  it); a client reply ends the wait, so a warning of an earlier wait never counts.
- **archive**: a ticket closed longer than the department's ``archive_days`` is archived
  for good (it can no longer be re-opened; a reply opens a new linked ticket).

Each step re-reads its ticket under a lock and re-checks the rule, so running twice, or two
beats at once, does nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import formats
from django.utils.translation import gettext as _

from support import notifications, tickets
from support.models import Message, MessageKind, SupportDepartment, Ticket, TicketStatus

BATCH = 500


def _warning_at(department: SupportDepartment) -> timedelta:
    """How long into the wait the warning goes out (at once when it is as long as the
    wait itself)."""
    return timedelta(days=max(department.autoclose_days - department.autoclose_warning_days, 0))


def _warned(ticket: Ticket) -> bool:
    return ticket.autoclose_warned_at is not None and ticket.awaiting_client_since is not None \
        and ticket.autoclose_warned_at >= ticket.awaiting_client_since


def warning_due(ticket: Ticket, *, now: datetime) -> bool:
    department = ticket.department
    return (department.autoclose_days > 0 and ticket.status == TicketStatus.AWAITING_CLIENT
            and ticket.awaiting_client_since is not None and not _warned(ticket)
            and now >= ticket.awaiting_client_since + _warning_at(department))


def close_due(ticket: Ticket, *, now: datetime) -> bool:
    department = ticket.department
    return (department.autoclose_days > 0 and ticket.status == TicketStatus.AWAITING_CLIENT
            and _warned(ticket)
            and now >= ticket.awaiting_client_since + timedelta(days=department.autoclose_days)
            and now >= ticket.autoclose_warned_at
            + timedelta(days=department.autoclose_warning_days))


def _candidates(department: SupportDepartment, *, waited: timedelta, now: datetime):
    return (Ticket.objects.filter(department=department, status=TicketStatus.AWAITING_CLIENT,
                                  awaiting_client_since__lte=now - waited)
            .order_by("pk").values_list("pk", flat=True))


def autoclose(*, now: datetime) -> tuple[int, int]:
    """Warn and close what is due at ``now``; returns (warned, closed)."""
    warned = closed = 0
    for department in SupportDepartment.objects.filter(autoclose_days__gt=0):
        unwarned = Q(autoclose_warned_at__isnull=True) \
            | Q(autoclose_warned_at__lt=F("awaiting_client_since"))
        for ticket_id in _candidates(department, waited=_warning_at(department),
                                     now=now).filter(unwarned)[:BATCH]:
            warned += autoclose_warn(ticket_id=ticket_id, now=now)
        for ticket_id in _candidates(department, now=now,
                                     waited=timedelta(days=department.autoclose_days)
                                     ).exclude(unwarned)[:BATCH]:
            closed += autoclose_close(ticket_id=ticket_id, now=now)
    return warned, closed


def _locked(ticket_id: int) -> Ticket | None:
    return (Ticket.objects.select_for_update().select_related("department", "client")
            .filter(pk=ticket_id).first())


@transaction.atomic
def autoclose_warn(*, ticket_id: int, now: datetime) -> bool:
    ticket = _locked(ticket_id)
    if ticket is None or not warning_due(ticket, now=now):
        return False
    department = ticket.department
    closes_on = max(ticket.awaiting_client_since + timedelta(days=department.autoclose_days),
                    now + timedelta(days=department.autoclose_warning_days))
    body = _("We have not heard from you for a while. If there is nothing more we can do "
             "for you, this ticket will be closed automatically on %(date)s. Reply to keep "
             "it open.") % {"date": formats.date_format(closes_on, "DATE_FORMAT")}
    # Automatic, so without an author: it is not a staff member's reply and restarts
    # nothing (neither the wait nor the first-response target).
    message = Message.objects.create(
        ticket=ticket, author=None, kind=MessageKind.STAFF, body_text=body, created_at=now,
        message_id=notifications.new_message_id(department))
    ticket.autoclose_warned_at = now
    ticket.save(update_fields=["autoclose_warned_at"])
    notifications.client_notify_answered(message)
    return True


@transaction.atomic
def autoclose_close(*, ticket_id: int, now: datetime) -> bool:
    ticket = _locked(ticket_id)
    if ticket is None or not close_due(ticket, now=now):
        return False
    tickets.ticket_close(ticket=ticket, now=now)
    Message.objects.create(
        ticket=ticket, author=None, kind=MessageKind.INTERNAL_NOTE, created_at=now,
        body_text=_("Closed automatically: no answer from the client for %(days)s days.")
        % {"days": ticket.department.autoclose_days})
    return True


def archive(*, now: datetime) -> int:
    """Archive the closed tickets older than their department's ``archive_days``; returns
    how many. One statement per department; nothing listens to the flag but the re-open
    rule, which reads it."""
    archived = 0
    for department in SupportDepartment.objects.all():
        archived += Ticket.objects.filter(
            department=department, status=TicketStatus.CLOSED, archived_at__isnull=True,
            closed_at__lte=now - timedelta(days=department.archive_days)).update(
            archived_at=now)
    return archived


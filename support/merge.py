"""Merging two tickets of one client: the source's thread moves into the target.

Its messages (with their attachments and their e-mail Message-IDs, so replies to them
thread into the target) take their place in the target's thread by time; the source is
closed and points at the target (``merged_into``), and mail that names the source by its
subject token or plus-address lands in the target too (``tickets.merged_target``). Both
tickets get an internal note; one transaction does all of it, with the two rows locked in
id order so that two merges the other way round cannot deadlock. Merging the same pair
again does nothing.

The wall clock is never read here: callers pass ``now``.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.actionlog import log_action
from accounts.models import User
from support import tickets
from support.models import Message, Priority, Ticket, TicketStatus
from support.selectors import department_staff

PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]
# Among two open statuses, the more pressing wins: a client message nobody answered in
# either thread waits for staff; a hold staff chose outweighs waiting for the client.
STATUS_PRECEDENCE = [TicketStatus.AWAITING_STAFF, TicketStatus.NEW, TicketStatus.ON_HOLD,
                     TicketStatus.AWAITING_CLIENT]


def merged_status(*, target: str, source: str) -> str:
    """Whose move it is in the merged thread. A closed side adds nothing to wait for;
    "new" stays only when neither thread has an answer yet; an unanswered client message
    in a thread staff have answered is awaiting staff."""
    if TicketStatus.CLOSED in (target, source):
        return source if target == TicketStatus.CLOSED else target
    if TicketStatus.NEW in (target, source) and target != source:
        return TicketStatus.AWAITING_STAFF
    return min(target, source, key=STATUS_PRECEDENCE.index)


def merged_priority(*, target: str, source: str) -> str:
    return max(target, source, key=PRIORITY_ORDER.index)


def merge_check(*, source: Ticket, target: Ticket) -> None:
    """Why these two cannot be merged, as a ValidationError; nothing when they can."""
    if source.pk == target.pk:
        raise ValidationError(_("A ticket cannot be merged into itself."), code="same")
    if source.client_id != target.client_id:
        raise ValidationError(_("Only tickets of the same client can be merged."),
                              code="foreign_client")
    if target.merged_into_id is not None:
        raise ValidationError(_("%(number)s was itself merged into another ticket; merge into "
                                "that one.") % {"number": target.display_number},
                              code="target_merged")
    if source.merged_into_id is not None and source.merged_into_id != target.pk:
        raise ValidationError(_("%(number)s was already merged into another ticket.")
                              % {"number": source.display_number}, code="source_merged")


@transaction.atomic
def ticket_merge(*, source: Ticket, target: Ticket, actor: User, now: datetime,
                 request=None) -> Ticket:
    """Move ``source``'s thread into ``target``; returns the target."""
    locked = {ticket.pk: ticket for ticket in Ticket.objects.select_for_update()
              .select_related("department", "client")
              .filter(pk__in=[source.pk, target.pk]).order_by("pk")}
    source, target = locked[source.pk], locked.get(target.pk, target)
    merge_check(source=source, target=target)
    if source.merged_into_id == target.pk:
        return target  # merged already (a double submit)
    moved = Message.objects.filter(ticket=source).update(ticket=target)

    target.status = merged_status(target=target.status, source=source.status)
    target.closed_at = (target.closed_at or now) if target.is_closed else None
    target.priority = merged_priority(target=target.priority, source=source.priority)
    if target.assignee_id is None and source.assignee_id is not None and department_staff(
            target.department).filter(pk=source.assignee_id).exists():
        target.assignee_id = source.assignee_id
    target.service_id = target.service_id or source.service_id
    target.updated_at = max(target.updated_at, source.updated_at, now)
    target.save(update_fields=["status", "closed_at", "priority", "assignee", "service",
                               "updated_at"])

    source.status, source.merged_into = TicketStatus.CLOSED, target
    source.closed_at, source.updated_at = source.closed_at or now, now
    source.save(update_fields=["status", "merged_into", "closed_at", "updated_at"])

    values = {"source": source.display_number, "target": target.display_number,
              "subject": source.subject, "actor": actor.email, "count": moved}
    tickets.ticket_note(ticket=target, user=actor, now=now, body=_(
        "%(source)s (%(subject)s) was merged into this ticket by %(actor)s: its %(count)s "
        "message(s) are in this thread now.") % values)
    tickets.ticket_note(ticket=source, user=actor, now=now,
                        body=_("Merged into %(target)s by %(actor)s.") % values)
    details = {"source": source.pk, "target": target.pk, "messages": moved}
    log_action(actor=actor, action="ticket.merged", obj=source, client=source.client,
               request=request, details=details)
    log_action(actor=actor, action="ticket.merged_into", obj=target, client=target.client,
               request=request, details=details)
    return target

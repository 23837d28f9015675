"""Staff writes on a ticket's place in the queue: who has it, how urgent it is, closing it.

Each write locks the ticket, changes it only when it is not already as asked (so a double
submit or a repeated bulk action does nothing twice), and logs what it changed in the
action log in the same transaction. Returns whether it changed anything.

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
from support.models import Priority, Ticket
from support.selectors import department_staff


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().select_related("department").get(pk=ticket.pk)


def assignee_check(*, ticket: Ticket, assignee: User | None) -> None:
    """Only someone who works the ticket's department may have it."""
    if assignee is not None and not department_staff(ticket.department).filter(
            pk=assignee.pk).exists():
        raise ValidationError(
            _("%(user)s does not work the %(department)s queue.")
            % {"user": assignee.email, "department": ticket.department.name},
            code="foreign_assignee")


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee: User | None, actor: User, now: datetime,
                  request=None) -> bool:
    ticket = _locked(ticket)
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return False
    assignee_check(ticket=ticket, assignee=assignee)
    before = ticket.assignee.email if ticket.assignee_id else ""
    ticket.assignee, ticket.updated_at = assignee, now
    ticket.save(update_fields=["assignee", "updated_at"])
    log_action(actor=actor, action="ticket.assigned", obj=ticket, client=ticket.client,
               request=request, details={"changes": {"assignee": [
                   before, assignee.email if assignee else ""]}})
    return True


@transaction.atomic
def ticket_set_priority(*, ticket: Ticket, priority: str, actor: User, now: datetime,
                        request=None) -> bool:
    if priority not in Priority.values:
        raise ValidationError(_("Choose a priority."), code="priority")
    ticket = _locked(ticket)
    if ticket.priority == priority:
        return False
    before = ticket.priority
    ticket.priority, ticket.updated_at = priority, now
    ticket.save(update_fields=["priority", "updated_at"])
    log_action(actor=actor, action="ticket.priority_changed", obj=ticket, client=ticket.client,
               request=request, details={"changes": {"priority": [before, priority]}})
    return True


@transaction.atomic
def ticket_close_by_staff(*, ticket: Ticket, actor: User, now: datetime,
                          request=None) -> bool:
    if ticket.is_closed:
        return False
    closed = tickets.ticket_close(ticket=ticket, now=now)
    if closed.closed_at != now:
        return False  # closed meanwhile by someone else
    log_action(actor=actor, action="ticket.closed_by_staff", obj=closed, client=closed.client,
               request=request)
    return True

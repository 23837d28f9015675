"""Moving a ticket to another support department.

The move leaves an internal note on the thread (who moved it, from where, why), so the
new department reads the reason where it reads the ticket; the assignee stays only if they
work the new department too. A ticket already in the department is left as it is: a double
submit moves (and notes) nothing twice.

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
from support.models import SupportDepartment, Ticket
from support.selectors import department_staff

REASON_MAX = 1000


def transfer_note(*, actor: User, source: SupportDepartment, target: SupportDepartment,
                  reason: str) -> str:
    return _("Moved from %(source)s to %(target)s by %(actor)s: %(reason)s") % {
        "source": source.name, "target": target.name, "actor": actor.email, "reason": reason}


@transaction.atomic
def ticket_transfer(*, ticket: Ticket, department: SupportDepartment, actor: User,
                    reason: str, now: datetime, request=None) -> bool:
    """Move ``ticket`` to ``department``; returns whether it moved."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the ticket moves: the next department reads it."),
                              code="reason")
    ticket = Ticket.objects.select_for_update().select_related("department", "client").get(
        pk=ticket.pk)
    if ticket.department_id == department.pk:
        return False
    if ticket.merged_into_id is not None:
        raise ValidationError(_("A merged ticket stays where it is; move the ticket it was "
                                "merged into."), code="merged")
    source = ticket.department
    ticket.department = department
    fields = ["department", "updated_at"]
    if ticket.assignee_id and not department_staff(department).filter(
            pk=ticket.assignee_id).exists():
        ticket.assignee = None
        fields.append("assignee")
    ticket.updated_at = now
    ticket.save(update_fields=fields)
    tickets.ticket_note(ticket=ticket, user=actor, now=now,
                        body=transfer_note(actor=actor, source=source, target=department,
                                           reason=reason[:REASON_MAX]))
    log_action(actor=actor, action="ticket.transferred", obj=ticket, client=ticket.client,
               request=request, details={
                   "changes": {"department": [source.name, department.name]},
                   "reason": reason[:REASON_MAX]})
    return True

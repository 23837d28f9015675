"""Escalations: on the beat, a ticket whose SLA target is at risk or missed is escalated
once per level: on a breach the policy may raise the priority and reassign the ticket, and
staff are told through the staff mail outbox (support.staff_mail) as they chose.

``escalate(now=...)`` is a function of an explicit time (support.tasks calls it with the
wall clock). Each escalation is a row unique per (ticket, level), written in the same
transaction as what it does and as staff's e-mail rows: the beat running twice, or two
beats at once, escalates and mails nothing twice, and a mail that could not go out is sent
by the staff mail sweep.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from support import sla
from support.models import (
    BreachReassign,
    EscalationLevel,
    Priority,
    SlaEscalation,
    StaffEvent,
    Ticket,
)
from support.staff_mail import staff_notify

BATCH = 500  # tickets escalated per run of the beat; the rest wait a minute

# level -> (the moment it is reached, applies only while unanswered)
_LEVELS = {
    EscalationLevel.FIRST_RESPONSE_AT_RISK: ("sla_first_response_risk_at", True),
    EscalationLevel.FIRST_RESPONSE_BREACHED: ("sla_first_response_due_at", True),
    EscalationLevel.RESOLUTION_AT_RISK: ("sla_resolution_risk_at", False),
    EscalationLevel.RESOLUTION_BREACHED: ("sla_resolution_due_at", False),
}
BREACHES = {EscalationLevel.FIRST_RESPONSE_BREACHED, EscalationLevel.RESOLUTION_BREACHED}
_AT_RISK_OF = {EscalationLevel.FIRST_RESPONSE_AT_RISK: EscalationLevel.FIRST_RESPONSE_BREACHED,
               EscalationLevel.RESOLUTION_AT_RISK: EscalationLevel.RESOLUTION_BREACHED}


def _reached(level: str, *, now: datetime) -> Q:
    """Tickets whose clock runs and has reached ``level``'s moment (a breach: passed it)."""
    field, unanswered = _LEVELS[level]
    lookup = "lt" if level in BREACHES else "lte"
    reached = Q(sla_paused_since__isnull=True, status__in=sla.RUNNING,
                **{f"{field}__{lookup}": now})
    return reached & Q(first_responded_at__isnull=True) if unanswered else reached


def level_reached(ticket: Ticket, level: str, *, now: datetime) -> bool:
    """The same rule for one locked ticket (the batch was read before the lock)."""
    field, unanswered = _LEVELS[level]
    moment = getattr(ticket, field)
    if ticket.sla_paused_since is not None or ticket.status not in sla.RUNNING \
            or moment is None or (unanswered and ticket.first_responded_at is not None):
        return False
    return now > moment if level in BREACHES else now >= moment


def escalations_due(*, now: datetime) -> list[tuple[int, str]]:
    """(ticket id, level) of escalations owed: reached and not done yet."""
    owed = []
    for level in _LEVELS:
        done = SlaEscalation.objects.filter(ticket=OuterRef("pk"), level=level)
        ids = (Ticket.objects.filter(_reached(level, now=now)).filter(~Exists(done))
               .order_by("pk").values_list("pk", flat=True)[:BATCH])
        owed += [(ticket_id, level) for ticket_id in ids]
    return owed


def escalate(*, now: datetime) -> int:
    """Escalate what is owed at ``now``; returns how many escalations happened."""
    return sum(escalate_ticket(ticket_id=ticket_id, level=level, now=now)
               for ticket_id, level in escalations_due(now=now))


@transaction.atomic
def escalate_ticket(*, ticket_id: int, level: str, now: datetime) -> bool:
    ticket = (Ticket.objects.select_for_update().select_related("department", "client")
              .filter(pk=ticket_id).first())
    if ticket is None or not level_reached(ticket, level, now=now):
        return False
    policy = sla.policy_for(ticket)
    if level in _AT_RISK_OF:
        breached_too = level_reached(ticket, _AT_RISK_OF[level], now=now)
        if breached_too or policy is None or not policy.notify_at_risk:
            return False  # the breach says it all, or the policy keeps quiet at risk
    due_at = getattr(ticket, _LEVELS[level][0])
    try:
        with transaction.atomic():
            escalation = SlaEscalation.objects.create(ticket=ticket, level=level,
                                                      happened_at=now, due_at=due_at)
    except IntegrityError:
        return False  # escalated already (another beat got here first)
    if level in BREACHES and policy is not None:
        escalation.actions = _breach_act(ticket, policy=policy, now=now)
        escalation.save(update_fields=["actions"])
    escalation_notify(escalation, now=now)
    return True


def _breach_act(ticket: Ticket, *, policy, now: datetime) -> dict:
    """What the policy does to a breached ticket; returns what was done, for the record."""
    actions: dict = {}
    if policy.breach_raise_priority and sla.raised(ticket.priority) != ticket.priority:
        actions["priority"] = [ticket.priority, sla.raised(ticket.priority)]
        ticket.priority = sla.raised(ticket.priority)
    if policy.breach_reassign == BreachReassign.UNASSIGN and ticket.assignee_id is not None:
        actions["assignee"] = [ticket.assignee_id, None]
        ticket.assignee = None
    elif policy.breach_reassign == BreachReassign.ASSIGN and policy.breach_assignee_id \
            and policy.breach_assignee_id != ticket.assignee_id:
        actions["assignee"] = [ticket.assignee_id, policy.breach_assignee_id]
        ticket.assignee_id = policy.breach_assignee_id
    if actions:
        # A new priority may mean another policy's targets: the clock recomputes them.
        ticket.save(update_fields=["priority", "assignee", *sla.sla_track(ticket, now=now)])
    return actions


# --- Telling staff -----------------------------------------------------------------------


def escalation_notify(escalation: SlaEscalation, *, now: datetime) -> None:
    """Write staff's e-mail about an escalation in its transaction, like any staff mail
    (support.staff_mail): their subscriptions decide who (the department's staff at
    "all", the assignee unless at "none"), keyed by the escalation so that two levels
    reached in one beat are two mails and a re-run writes none."""
    staff_notify(escalation.ticket, StaffEvent.SLA_BREACH, now=now,
                 occasion=f"esc{escalation.pk}", detail=escalation_detail(escalation))


def escalation_detail(escalation: SlaEscalation) -> str:
    """The level, its target and what the policy did, for the mail."""
    lines = [escalation.get_level_display()]
    if escalation.due_at is not None:
        # As the staff panel shows targets, with the zone: staff may be elsewhere.
        lines.append(_("Target: %(due)s") % {"due": formats.date_format(
            timezone.localtime(escalation.due_at), "Y-m-d H:i T")})
    priority = escalation.actions.get("priority")
    if priority:
        lines.append(_("The policy raised the priority from %(old)s to %(new)s.") % {
            "old": Priority(priority[0]).label, "new": Priority(priority[1]).label})
    if "assignee" in escalation.actions:
        assignee = escalation.ticket.assignee
        lines.append(_("The policy assigned the ticket to %(who)s.") % {"who": assignee.email}
                     if assignee is not None else _("The policy unassigned the ticket."))
    return "\n".join(lines)

"""Escalations: on the beat, a ticket whose SLA target is at risk or missed is escalated
once per level: its department's staff are told, and on a breach the policy may raise the
priority and reassign the ticket.

``escalate(now=...)`` is a function of an explicit time (support.tasks calls it with the
wall clock). Each escalation is a row unique per (ticket, level), written in the same
transaction as what it does and before the mail: the beat running twice, or two beats at
once, escalates nothing twice, and a mail that could not go out is sent by the sweep.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from support import sla
from support.models import (
    BreachReassign,
    EscalationLevel,
    SlaEscalation,
    Ticket,
)
from support.selectors import department_staff

log = logging.getLogger(__name__)

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
    escalation_notify(escalation)
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


def escalation_recipients(escalation: SlaEscalation) -> list[str]:
    """The department's staff, and whoever the ticket is assigned to."""
    ticket = escalation.ticket
    emails = set(department_staff(ticket.department).exclude(email="")
                 .values_list("email", flat=True))
    if ticket.assignee is not None and ticket.assignee.email and ticket.assignee.is_active:
        emails.add(ticket.assignee.email)
    return sorted(emails)


def escalation_notify(escalation: SlaEscalation) -> None:
    """Tell staff about an escalation after commit. The one place escalations reach staff:
    a staff notification preference reroutes here. The escalation row is the write-ahead
    record; ``notified_at`` says the mail went out."""
    transaction.on_commit(lambda: escalation_send(escalation.pk))


def escalation_send(escalation_id: int) -> bool:
    """Mail one escalation unless it was mailed: claimed first (``notified_at`` set) so
    the sweep and the first try never both send it; a failed send gives the claim back."""
    # The claim's time is when the mail left, whatever moment the rule ran for.
    claimed = SlaEscalation.objects.filter(pk=escalation_id, notified_at__isnull=True).update(
        notified_at=timezone.now())
    if not claimed:
        return False
    escalation = SlaEscalation.objects.select_related(
        "ticket__department", "ticket__client", "ticket__assignee").get(pk=escalation_id)
    recipients = escalation_recipients(escalation)
    if not recipients:
        return True  # nobody works the queue: nothing to send, nothing to retry
    ticket = escalation.ticket
    subject = _("%(token)s %(level)s: %(subject)s") % {
        "token": ticket.subject_token, "level": escalation.get_level_display(),
        "subject": ticket.subject}
    body = _("Ticket %(number)s (%(client)s, %(department)s) — %(level)s.\n"
             "Target: %(due)s\nPriority: %(priority)s\nAssignee: %(assignee)s\n\n%(site)s") % {
        "number": ticket.display_number, "client": ticket.client,
        "department": ticket.department, "level": escalation.get_level_display(),
        "due": escalation.due_at, "priority": ticket.get_priority_display(),
        "assignee": ticket.assignee or _("nobody"), "site": settings.SITE_NAME}
    try:
        EmailMessage(subject=subject[:200], body=body, to=recipients).send()
    except Exception:
        SlaEscalation.objects.filter(pk=escalation_id).update(notified_at=None)
        log.exception("Could not mail staff about escalation %s", escalation_id)
        return False
    return True


def escalations_send_pending(*, now: datetime, older_than: timedelta) -> int:
    """Mail escalations still unsent a while after they happened (mail server down)."""
    ids = list(SlaEscalation.objects.filter(notified_at__isnull=True,
                                            happened_at__lt=now - older_than)
               .order_by("pk").values_list("pk", flat=True)[:500])
    return sum(escalation_send(escalation_id) for escalation_id in ids)

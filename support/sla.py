"""The SLA of a ticket: which policy applies, when its targets fall due in the
department's business hours, and the ticket's SLA state.

The clock runs from the ticket's opening while staff owe a move (new, awaiting staff) and
stands still while the client owes one (awaiting client), while the ticket is on hold, and
while it is closed; a re-opened ticket's clock goes on from where it stood. Both targets
(first response, resolution) share that clock, so a target falls due when the business
time since opening reaches the target plus the business time the clock stood still:
``due = add_business_time(opened, target + paused)``. Business time is additive
(support.business_hours), which is what makes that one formula right after any number of
pauses, priority changes and transfers.

``sla_track`` keeps the stored fields true: every write that changes a ticket's status,
priority, department or assignee's move calls it before saving (support.tickets, the staff
panel, the clock's jobs). ``sla_state`` reads them: one rule, with its set-based twin
``sla_state_annotate`` for the queue's filter (a hypothesis test proves the two agree).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from support.business_hours import Calendar, add_business_time, always, business_time_between
from support.business_hours import calendar as make_calendar
from support.models import (
    BusinessCalendar,
    Priority,
    SlaPolicy,
    SupportDepartment,
    Ticket,
    TicketStatus,
)

RUNNING = frozenset({TicketStatus.NEW, TicketStatus.AWAITING_STAFF})

# What sla_track may change: callers save these with their own fields.
SLA_FIELDS = ("first_responded_at", "first_responded_by", "sla_first_response_due_at",
              "sla_first_response_risk_at", "sla_resolution_due_at", "sla_resolution_risk_at",
              "sla_paused", "sla_paused_since", "sla_first_response_time",
              "sla_resolution_time", "awaiting_client_since", "archived_at")


class SlaState(models.TextChoices):
    NONE = "none", _("No SLA")
    OK = "ok", _("On track")
    AT_RISK = "at_risk", _("At risk")
    BREACHED = "breached", _("Breached")
    PAUSED = "paused", _("Paused")


def calendar_of(calendar: BusinessCalendar | None) -> Calendar:
    if calendar is None:
        return always()
    week: dict[int, list] = {}
    for hours in calendar.hours.all():
        week.setdefault(hours.weekday, []).append((hours.opens, hours.closes))
    return make_calendar(calendar.time_zone, week,
                         calendar.holidays.values_list("date", flat=True))


def department_calendar(department: SupportDepartment) -> Calendar:
    return calendar_of(department.calendar)


def policy_for(ticket: Ticket) -> SlaPolicy | None:
    """The policy of the ticket's department and priority: the one for a group of the
    client's if there is one (the strictest, if the client is in several), else the
    department's general one."""
    candidates = SlaPolicy.objects.filter(department_id=ticket.department_id,
                                          priority=ticket.priority)
    group_policy = (candidates.filter(client_group__in=ticket.client.groups.all())
                    .order_by("resolution_minutes", "first_response_minutes", "pk").first())
    return group_policy or candidates.filter(client_group__isnull=True).first()


def _points(cal: Calendar, ticket: Ticket, minutes: int, percent: int
            ) -> tuple[datetime | None, datetime | None]:
    """(due, at risk) of one target for the clock as it stands."""
    target = timedelta(minutes=minutes)
    due = add_business_time(cal, ticket.created_at, target + ticket.sla_paused)
    risk = add_business_time(cal, ticket.created_at, target * percent / 100 + ticket.sla_paused)
    return due, risk


def sla_track(ticket: Ticket, *, now: datetime, responder=None) -> tuple[str, ...]:
    """Bring the ticket's SLA fields up to date with its status, priority and department,
    as of ``now``; ``responder``: the staff member whose reply this write is (the first
    one answers the first-response target). Depends only on the ticket as it is now (not
    on what it was), so calling it twice, or on a write that changed nothing, is harmless.
    Returns the fields to save."""
    cal = department_calendar(ticket.department)
    if responder is not None and ticket.first_responded_at is None:
        ticket.first_responded_at, ticket.first_responded_by = now, responder
        ticket.sla_first_response_time = business_time_between(
            cal, ticket.created_at, ticket.sla_paused_since or now) - ticket.sla_paused
    running = ticket.status in RUNNING
    if running and ticket.sla_paused_since is not None:
        ticket.sla_paused += business_time_between(cal, ticket.sla_paused_since, now)
        ticket.sla_paused_since = None
    elif not running and ticket.sla_paused_since is None:
        ticket.sla_paused_since = now
    if ticket.status == TicketStatus.CLOSED:
        if ticket.sla_resolution_time is None:
            ticket.sla_resolution_time = business_time_between(
                cal, ticket.created_at, ticket.sla_paused_since) - ticket.sla_paused
    else:
        ticket.sla_resolution_time = None
        ticket.archived_at = None  # only a closed ticket stays in the archive
    if ticket.status == TicketStatus.AWAITING_CLIENT:
        ticket.awaiting_client_since = ticket.awaiting_client_since or now
    else:
        ticket.awaiting_client_since = None

    policy = policy_for(ticket)
    if policy is None:
        ticket.sla_resolution_due_at = ticket.sla_resolution_risk_at = None
        if ticket.first_responded_at is None:
            ticket.sla_first_response_due_at = ticket.sla_first_response_risk_at = None
        return SLA_FIELDS
    if ticket.first_responded_at is None:  # once answered, its target is history
        ticket.sla_first_response_due_at, ticket.sla_first_response_risk_at = _points(
            cal, ticket, policy.first_response_minutes, policy.at_risk_percent)
    ticket.sla_resolution_due_at, ticket.sla_resolution_risk_at = _points(
        cal, ticket, policy.resolution_minutes, policy.at_risk_percent)
    return SLA_FIELDS


def _late(moment: datetime | None, due: datetime | None) -> bool:
    return due is not None and moment is not None and moment > due


def sla_state(ticket: Ticket, *, now: datetime) -> SlaState:
    """The ticket's SLA state at ``now``: breached once a target was missed (for good),
    else paused while the clock stands still (closed on time: on track), else at risk
    once a running target's share (the policy's percent) is used, else on track."""
    if ticket.sla_first_response_due_at is None and ticket.sla_resolution_due_at is None:
        return SlaState.NONE
    clock = ticket.sla_paused_since or now  # the moment the clock stands at
    if _late(ticket.first_responded_at or clock, ticket.sla_first_response_due_at) \
            or _late(clock, ticket.sla_resolution_due_at):
        return SlaState.BREACHED
    if ticket.status == TicketStatus.CLOSED:
        return SlaState.OK
    if ticket.sla_paused_since is not None:
        return SlaState.PAUSED
    risks = [ticket.sla_resolution_risk_at]
    if ticket.first_responded_at is None:
        risks.append(ticket.sla_first_response_risk_at)
    if any(risk is not None and now >= risk for risk in risks):
        return SlaState.AT_RISK
    return SlaState.OK


def sla_state_annotate(tickets: QuerySet[Ticket], *, now: datetime) -> QuerySet[Ticket]:
    """``sla_state`` in SQL, as the ``sla_state_value`` of each ticket (the queue filters
    and counts by it)."""
    at = Value(now, output_field=DateTimeField())
    tickets = tickets.annotate(_sla_clock=Coalesce(F("sla_paused_since"), at))
    breached = (
        Q(sla_first_response_due_at__isnull=False,
          sla_first_response_due_at__lt=Coalesce(F("first_responded_at"), F("_sla_clock")))
        | Q(sla_resolution_due_at__isnull=False, sla_resolution_due_at__lt=F("_sla_clock")))
    at_risk = (Q(sla_resolution_risk_at__lte=at)
               | Q(first_responded_at__isnull=True, sla_first_response_risk_at__lte=at))
    return tickets.annotate(sla_state_value=Case(
        When(sla_first_response_due_at__isnull=True, sla_resolution_due_at__isnull=True,
             then=Value(SlaState.NONE.value)),
        When(breached, then=Value(SlaState.BREACHED.value)),
        When(status=TicketStatus.CLOSED, then=Value(SlaState.OK.value)),
        When(sla_paused_since__isnull=False, then=Value(SlaState.PAUSED.value)),
        When(at_risk, then=Value(SlaState.AT_RISK.value)),
        default=Value(SlaState.OK.value), output_field=CharField()))


PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


def raised(priority: str) -> str:
    """One step up; urgent stays urgent."""
    position = PRIORITY_ORDER.index(priority)
    return PRIORITY_ORDER[min(position + 1, len(PRIORITY_ORDER) - 1)]

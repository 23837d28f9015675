"""SLA targets through every path that moves a ticket (support.tickets and the staff panel),
and the SLA state; expected times are worked out by hand in the tables below."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db.models import Q
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import sla, tickets
from support.models import (
    BusinessCalendar,
    BusinessHours,
    Priority,
    SlaPolicy,
    Ticket,
    TicketStatus,
)
from support.sla import SlaState, sla_state, sla_state_annotate, sla_track
from tests.factories.accounts import ClientFactory, ClientGroupFactory, StaffFactory
from tests.factories.support import SupportDepartmentFactory, TicketFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def department():
    """No calendar: every minute counts. Normal: answer in 60 min, resolve in 240;
    high: 15 and 60; at risk from 75 %."""
    department = SupportDepartmentFactory()
    SlaPolicy.objects.create(department=department, priority=Priority.NORMAL,
                             first_response_minutes=60, resolution_minutes=240)
    SlaPolicy.objects.create(department=department, priority=Priority.HIGH,
                             first_response_minutes=15, resolution_minutes=60)
    return department


def _run(department, steps):
    client, staff = ClientFactory(), StaffFactory()
    ticket = None
    for step, minute, *extra in steps:
        now = at(minute)
        if step == "open":
            ticket = tickets.ticket_open(client=client, user=None, department=department,
                                         subject="Down", body="Help", now=now)
        elif step == "client":
            ticket = tickets.ticket_reply_client(ticket=ticket, user=None, body="More",
                                                 now=now)
        elif step == "staff":
            tickets.ticket_reply_staff(ticket=ticket, user=staff, body="Try this", now=now)
        elif step == "note":
            tickets.ticket_note(ticket=ticket, user=staff, body="Hm", now=now)
        elif step == "close":
            tickets.ticket_close(ticket=ticket, now=now)
        elif step == "reopen":
            tickets.ticket_reopen(ticket=ticket, now=now)
        elif step in ("hold", "unhold", "priority"):
            # The staff panel's change form: it sets the field and calls sla_track.
            ticket.refresh_from_db()
            if step == "hold":
                ticket.status = TicketStatus.ON_HOLD
            elif step == "unhold":
                ticket.status = TicketStatus.AWAITING_STAFF
            else:
                ticket.priority = extra[0]
            sla_track(ticket, now=now)
            ticket.save()
        ticket.refresh_from_db()
    return ticket


def _minutes(moment):
    return None if moment is None else (moment - T0) / timedelta(minutes=1)


# steps (minutes after T0) -> expected: first response due, resolution due, paused minutes,
# first response time, resolution time (minutes; None: not set)
PATHS = [
    ("opened", [("open", 0)],
     dict(fr_due=60, res_due=240, paused=0, fr_time=None, res_time=None)),
    ("a note changes nothing", [("open", 0), ("note", 10)],
     dict(fr_due=60, res_due=240, paused=0, fr_time=None, res_time=None)),
    ("the client adds to a new ticket: still running", [("open", 0), ("client", 20)],
     dict(fr_due=60, res_due=240, paused=0, fr_time=None, res_time=None)),
    ("staff answer: first response kept, clock paused", [("open", 0), ("staff", 30)],
     dict(fr_due=60, res_due=240, paused=0, fr_time=30, res_time=None)),
    ("the client answers 90 min later: resolution moves by 90",
     [("open", 0), ("staff", 30), ("client", 120)],
     dict(fr_due=60, res_due=330, paused=90, fr_time=30, res_time=None)),
    ("closed: resolution time is the running time",
     [("open", 0), ("staff", 30), ("client", 120), ("close", 200)],
     dict(fr_due=60, res_due=330, paused=90, fr_time=30, res_time=110)),
    ("re-opened: the closed time is paused too",
     [("open", 0), ("staff", 30), ("client", 120), ("close", 200), ("reopen", 300)],
     dict(fr_due=60, res_due=330 + 100, paused=190, fr_time=30, res_time=None)),
    ("on hold pauses; off hold resumes", [("open", 0), ("hold", 10), ("unhold", 70)],
     dict(fr_due=120, res_due=300, paused=60, fr_time=None, res_time=None)),
    ("answered while on hold: only the running time counts",
     [("open", 0), ("hold", 10), ("staff", 70)],
     dict(fr_due=60, res_due=240, paused=0, fr_time=10, res_time=None)),
    ("priority raised before the answer: both targets from opening",
     [("open", 0), ("priority", 5, Priority.HIGH)],
     dict(fr_due=15, res_due=60, paused=0, fr_time=None, res_time=None)),
    ("priority raised after the answer: the first response target is history",
     [("open", 0), ("staff", 30), ("client", 40), ("priority", 45, Priority.HIGH)],
     dict(fr_due=60, res_due=70, paused=10, fr_time=30, res_time=None)),
    ("no policy for the priority: no targets",
     [("open", 0), ("priority", 5, Priority.LOW)],
     dict(fr_due=None, res_due=None, paused=0, fr_time=None, res_time=None)),
    ("a second staff reply is not a first response",
     [("open", 0), ("staff", 30), ("client", 40), ("staff", 50)],
     dict(fr_due=60, res_due=250, paused=10, fr_time=30, res_time=None)),
]


@pytest.mark.parametrize(("steps", "expected"), [p[1:] for p in PATHS],
                         ids=[p[0] for p in PATHS])
def test_targets_along_each_path(department, steps, expected):
    ticket = _run(department, steps)
    assert {
        "fr_due": _minutes(ticket.sla_first_response_due_at),
        "res_due": _minutes(ticket.sla_resolution_due_at),
        "paused": ticket.sla_paused / timedelta(minutes=1),
        "fr_time": None if ticket.sla_first_response_time is None
        else ticket.sla_first_response_time / timedelta(minutes=1),
        "res_time": None if ticket.sla_resolution_time is None
        else ticket.sla_resolution_time / timedelta(minutes=1),
    } == expected


# steps, the moment asked about (minutes) -> state
STATES = [
    ([("open", 0)], 10, SlaState.OK),
    ([("open", 0)], 45, SlaState.AT_RISK),          # 75 % of the 60 min first response
    ([("open", 0)], 60, SlaState.AT_RISK),          # at the target: not missed yet
    ([("open", 0)], 61, SlaState.BREACHED),
    ([("open", 0), ("staff", 30)], 500, SlaState.PAUSED),    # waiting for the client
    ([("open", 0), ("staff", 70)], 80, SlaState.BREACHED),   # answered late, for good
    ([("open", 0), ("staff", 70), ("client", 75)], 80, SlaState.BREACHED),
    ([("open", 0), ("staff", 30), ("client", 100)], 110, SlaState.OK),
    ([("open", 0), ("staff", 30), ("client", 100)], 290, SlaState.AT_RISK),  # 180 used + 70
    ([("open", 0), ("hold", 10)], 500, SlaState.PAUSED),
    ([("open", 0), ("staff", 30), ("close", 40)], 900, SlaState.OK),   # closed in time
    ([("open", 0), ("staff", 30), ("client", 40), ("close", 300)], 900, SlaState.BREACHED),
    ([("open", 0), ("priority", 0, Priority.LOW)], 900, SlaState.NONE),
]


@pytest.mark.parametrize(("steps", "minute", "expected"), STATES)
def test_the_sla_state(department, steps, minute, expected):
    ticket = _run(department, steps)
    assert sla_state(ticket, now=at(minute)) == expected
    # The queue's filter says the same, in SQL.
    annotated = sla_state_annotate(Ticket.objects.filter(pk=ticket.pk), now=at(minute))
    assert annotated.get().sla_state_value == expected


def test_a_client_groups_policy_overrides_the_departments(department):
    vip = ClientGroupFactory()
    SlaPolicy.objects.create(department=department, priority=Priority.NORMAL,
                             client_group=vip, first_response_minutes=10,
                             resolution_minutes=30)
    client = ClientFactory()
    client.groups.add(vip)
    ticket = tickets.ticket_open(client=client, user=None, department=department,
                                 subject="Down", body="Help", now=T0)
    other = tickets.ticket_open(client=ClientFactory(), user=None, department=department,
                                subject="Down", body="Help", now=T0)
    assert (_minutes(ticket.sla_first_response_due_at), _minutes(ticket.sla_resolution_due_at)
            ) == (10, 30)
    assert _minutes(other.sla_first_response_due_at) == 60


def test_targets_count_business_hours(department):
    office = BusinessCalendar.objects.create(name="Office", time_zone="Europe/Berlin")
    BusinessHours.objects.bulk_create([BusinessHours(calendar=office, weekday=day,
                                                     opens=time(9), closes=time(18))
                                       for day in range(5)])
    department.calendar = office
    department.save()
    friday_five_pm = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)  # 17:00 in Berlin
    ticket = tickets.ticket_open(client=ClientFactory(), user=None, department=department,
                                 subject="Down", body="Help", now=friday_five_pm)
    # 60 min: Friday 17:00-18:00 Berlin; 240 min: then Monday 09:00-12:00 Berlin.
    assert ticket.sla_first_response_due_at == datetime(2026, 3, 6, 17, 0, tzinfo=UTC)
    assert ticket.sla_resolution_due_at == datetime(2026, 3, 9, 11, 0, tzinfo=UTC)


def test_a_late_reply_to_a_closed_ticket_opens_one_with_its_own_targets(department):
    department.reopen_days = 1
    department.save()
    old = _run(department, [("open", 0), ("staff", 10), ("close", 20)])
    new = tickets.ticket_reply_client(ticket=old, user=None, body="Again", now=at(3 * 24 * 60))
    assert new.pk != old.pk
    assert new.sla_first_response_due_at == at(3 * 24 * 60 + 60)


def test_archived_tickets_cannot_be_reopened(department):
    ticket = _run(department, [("open", 0), ("close", 10)])
    ticket.archived_at = at(20)
    ticket.save()
    assert not tickets.reopen_allowed(ticket, now=at(30))


def test_priorities_are_raised_one_step():
    assert [sla.raised(p) for p in (Priority.LOW, Priority.NORMAL, Priority.HIGH,
                                    Priority.URGENT)] == [Priority.NORMAL, Priority.HIGH,
                                                          Priority.URGENT, Priority.URGENT]


moments = st.one_of(st.none(), st.integers(-300, 300).map(at))


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=st.sampled_from(TicketStatus.values), fr_due=moments, fr_risk=moments,
       res_due=moments, res_risk=moments, responded=moments, paused_since=moments,
       now=st.integers(-300, 300).map(at))
def test_the_sql_state_is_the_python_state(status, fr_due, fr_risk, res_due, res_risk,
                                           responded, paused_since, now):
    ticket = TicketFactory(status=status, sla_first_response_due_at=fr_due,
                           sla_first_response_risk_at=fr_risk, sla_resolution_due_at=res_due,
                           sla_resolution_risk_at=res_risk, first_responded_at=responded,
                           sla_paused_since=paused_since)
    annotated = sla_state_annotate(Ticket.objects.filter(pk=ticket.pk), now=now).get()
    assert annotated.sla_state_value == sla_state(ticket, now=now)
    Ticket.objects.filter(Q(pk=ticket.pk)).delete()

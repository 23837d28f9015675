"""Escalations on the beat: once per ticket and level, whatever runs twice; the policy's
actions on a breach; the department's staff mailed after commit, and again by the sweep
when the first try did not go out."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import Department
from support import tickets
from support.escalation import escalate, escalate_ticket, escalations_send_pending
from support.models import (
    BreachReassign,
    EscalationLevel,
    Priority,
    SlaEscalation,
    SlaPolicy,
    TicketStatus,
)
from support.tasks import sla_tick
from tests.factories.accounts import ClientFactory, StaffFactory
from tests.factories.support import SupportDepartmentFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def department():
    department = SupportDepartmentFactory()
    # Normal: answer in 60 min, resolve in 240; high: 30 and 120. No calendar: real time.
    SlaPolicy.objects.create(department=department, priority=Priority.NORMAL,
                             first_response_minutes=60, resolution_minutes=240)
    SlaPolicy.objects.create(department=department, priority=Priority.HIGH,
                             first_response_minutes=30, resolution_minutes=120)
    return department


@pytest.fixture
def team():
    """Two staff members who work the department's queue, and one who does not."""
    technical = Department.objects.get_or_create(name="Technical support")[0]
    members = [StaffFactory(email="ann@example.com"), StaffFactory(email="bob@example.com")]
    for member in members:
        member.groups.add(technical)
    StaffFactory(email="outsider@example.com")
    return members


def _open(department, now=T0, **fields):
    return tickets.ticket_open(client=ClientFactory(), user=None, department=department,
                               subject="Site down", body="Help", now=now, **fields)


def _levels(ticket):
    return sorted(ticket.escalations.values_list("level", flat=True))


def test_a_breach_is_escalated_once_and_raises_the_priority(
        department, team, django_capture_on_commit_callbacks):
    ticket = _open(department)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert escalate(now=at(61)) == 1
        assert escalate(now=at(62)) == 0  # the beat again: nothing twice
    ticket.refresh_from_db()
    assert _levels(ticket) == [EscalationLevel.FIRST_RESPONSE_BREACHED]
    assert ticket.priority == Priority.HIGH
    # High's targets count from the opening: resolution due 120 min after it.
    assert ticket.sla_resolution_due_at == at(120)
    escalation = ticket.escalations.get()
    assert escalation.actions == {"priority": ["normal", "high"]}
    assert escalation.notified_at is not None
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["ann@example.com", "bob@example.com"]
    assert ticket.subject_token in mail.outbox[0].subject


def test_at_risk_warns_without_acting(department, team, django_capture_on_commit_callbacks):
    ticket = _open(department)
    with django_capture_on_commit_callbacks(execute=True):
        assert escalate(now=at(45)) == 1  # 75 % of the first response's 60 min
    ticket.refresh_from_db()
    assert _levels(ticket) == [EscalationLevel.FIRST_RESPONSE_AT_RISK]
    assert ticket.priority == Priority.NORMAL
    assert len(mail.outbox) == 1


def test_a_breach_found_late_is_not_also_reported_at_risk(department, team):
    ticket = _open(department)
    escalate(now=at(61))
    assert _levels(ticket) == [EscalationLevel.FIRST_RESPONSE_BREACHED]


def test_no_at_risk_warning_when_the_policy_keeps_quiet(department, team):
    SlaPolicy.objects.filter(department=department).update(notify_at_risk=False)
    ticket = _open(department)
    assert escalate(now=at(50)) == 0
    assert _levels(ticket) == []


def test_a_paused_ticket_is_not_escalated(department, team):
    ticket = _open(department)
    tickets.ticket_reply_staff(ticket=ticket, user=team[0], body="Try again", now=at(10))
    assert escalate(now=at(10_000)) == 0


def test_resolution_breach_after_the_first_response(department, team):
    ticket = _open(department)
    tickets.ticket_reply_staff(ticket=ticket, user=team[0], body="Try again", now=at(10))
    tickets.ticket_reply_client(ticket=ticket, user=None, body="No luck", now=at(20))
    # Resolution due at 240 + 10 paused = 250.
    assert escalate(now=at(250)) == 1  # at risk (180 + 10) only
    assert escalate(now=at(251)) == 1
    assert _levels(ticket) == [EscalationLevel.RESOLUTION_AT_RISK,
                               EscalationLevel.RESOLUTION_BREACHED]


@pytest.mark.parametrize(("reassign", "to_chosen", "expected"), [
    (BreachReassign.KEEP, False, "first"),
    (BreachReassign.UNASSIGN, False, None),
    (BreachReassign.ASSIGN, True, "chosen"),
])
def test_the_policy_reassigns_a_breached_ticket(department, team, reassign, to_chosen,
                                                expected):
    chosen = StaffFactory()
    SlaPolicy.objects.filter(department=department).update(
        breach_reassign=reassign, breach_assignee=chosen if to_chosen else None,
        breach_raise_priority=False)
    ticket = _open(department)
    ticket.assignee = team[0]
    ticket.save()
    escalate(now=at(61))
    ticket.refresh_from_db()
    assert ticket.assignee == {"first": team[0], "chosen": chosen, None: None}[expected]
    assert ticket.priority == Priority.NORMAL


def test_urgent_stays_urgent_and_without_a_policy_nothing_is_due(department, team):
    ticket = _open(department, priority=Priority.URGENT)
    assert escalate(now=at(10_000)) == 0  # no policy for urgent: no targets
    assert _levels(ticket) == []


def test_an_escalation_already_made_is_not_made_again(department, team):
    ticket = _open(department)
    SlaEscalation.objects.create(ticket=ticket, level=EscalationLevel.FIRST_RESPONSE_BREACHED,
                                 happened_at=at(61))
    assert not escalate_ticket(ticket_id=ticket.pk,
                               level=EscalationLevel.FIRST_RESPONSE_BREACHED, now=at(62))
    ticket.refresh_from_db()
    assert ticket.priority == Priority.NORMAL


def test_a_ticket_answered_meanwhile_is_left_alone(department, team):
    ticket = _open(department)
    tickets.ticket_reply_staff(ticket=ticket, user=team[0], body="Here", now=at(70))
    # The batch was read before the answer; the locked re-check sees it.
    assert not escalate_ticket(ticket_id=ticket.pk,
                               level=EscalationLevel.FIRST_RESPONSE_BREACHED, now=at(71))


def test_the_sweep_mails_what_did_not_go_out(department, team):
    ticket = _open(department)
    escalate(now=at(61))  # no commit in this test: the mail after commit never left
    assert ticket.escalations.get().notified_at is None
    mail.outbox.clear()
    assert escalations_send_pending(now=at(70), older_than=timedelta(minutes=5)) == 1
    assert escalations_send_pending(now=at(70), older_than=timedelta(minutes=5)) == 0
    assert len(mail.outbox) == 1
    assert ticket.escalations.get().notified_at is not None


def test_the_assignee_hears_of_it_too(department, team, django_capture_on_commit_callbacks):
    outsider = StaffFactory(email="carol@example.com")
    ticket = _open(department)
    ticket.assignee = outsider
    ticket.save()
    with django_capture_on_commit_callbacks(execute=True):
        escalate(now=at(61))
    assert sorted(mail.outbox[-1].to) == ["ann@example.com", "bob@example.com",
                                          "carol@example.com"]


def test_the_beat_task_runs_every_step(department, team):
    ticket = _open(department, now=datetime(2020, 1, 1, tzinfo=UTC))
    result = sla_tick()
    assert result["escalated"] == 2  # both targets long missed
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW
    assert set(result) == {"escalated", "warned", "closed", "archived", "resent"}


def test_a_policy_that_assigns_names_who():
    with pytest.raises(ValidationError, match="Choose who takes"):
        SlaPolicy(breach_reassign=BreachReassign.ASSIGN).clean()
    SlaPolicy(breach_reassign=BreachReassign.UNASSIGN).clean()

"""Escalations on the beat: once per ticket and level, whatever runs twice; the policy's
actions on a breach; staff's mail written in the escalation's transaction (one row per
recipient and escalation, as their subscriptions say), sent by the staff mail sender after
commit and by its sweep when that did not go out."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import Department
from support import tickets
from support.escalation import escalate, escalate_ticket
from support.models import (
    BreachReassign,
    EscalationLevel,
    Priority,
    SlaEscalation,
    SlaPolicy,
    StaffMail,
    StaffSubscription,
    TicketStatus,
)
from support.staff_mail import staff_mail_send, staff_mail_send_pending
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


def _sla_mail(ticket):
    """(recipient, level said in the mail) of the escalation mails written, sorted."""
    said = ("First response at risk", "First response breached", "Resolution at risk",
            "Resolution breached")
    return sorted((row.email, next(level for level in said if level in row.body))
                  for row in StaffMail.objects.filter(ticket=ticket, event="sla_breach"))


def _send_all():
    return staff_mail_send(list(StaffMail.objects.order_by("pk").values_list("pk", flat=True)),
                           now=at(100))


def test_a_breach_is_escalated_once_and_raises_the_priority(
        department, team, django_capture_on_commit_callbacks):
    ticket = _open(department)
    StaffMail.objects.all().delete()  # the new ticket's
    with django_capture_on_commit_callbacks() as callbacks:
        assert escalate(now=at(61)) == 1
        assert escalate(now=at(62)) == 0  # the beat again: nothing twice
    assert len(callbacks) == 1  # the sender is handed the rows once
    ticket.refresh_from_db()
    assert _levels(ticket) == [EscalationLevel.FIRST_RESPONSE_BREACHED]
    assert ticket.priority == Priority.HIGH
    # High's targets count from the opening: resolution due 120 min after it.
    assert ticket.sla_resolution_due_at == at(120)
    escalation = ticket.escalations.get()
    assert escalation.actions == {"priority": ["normal", "high"]}
    assert _sla_mail(ticket) == [("ann@example.com", "First response breached"),
                                 ("bob@example.com", "First response breached")]
    assert not mail.outbox  # written, not sent, by the beat

    assert _send_all() == 2
    assert sorted(sent.to[0] for sent in mail.outbox) == ["ann@example.com",
                                                          "bob@example.com"]
    sent = mail.outbox[0]
    assert ticket.subject_token in sent.subject
    assert "SLA target at risk or missed" in sent.subject
    # The target (10:00 UTC; the site's time zone is UTC), and what the policy did.
    assert "Target: 2026-03-02 10:00 UTC" in sent.body
    assert "The policy raised the priority from Normal to High." in sent.body


def test_at_risk_warns_without_acting(department, team):
    ticket = _open(department)
    assert escalate(now=at(45)) == 1  # 75 % of the first response's 60 min
    ticket.refresh_from_db()
    assert _levels(ticket) == [EscalationLevel.FIRST_RESPONSE_AT_RISK]
    assert ticket.priority == Priority.NORMAL
    assert _sla_mail(ticket) == [("ann@example.com", "First response at risk"),
                                 ("bob@example.com", "First response at risk")]
    assert "The policy" not in StaffMail.objects.filter(event="sla_breach").first().body


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
    said = {"first": None, "chosen": f"The policy assigned the ticket to {chosen.email}.",
            None: "The policy unassigned the ticket."}[expected]
    body = StaffMail.objects.filter(event="sla_breach").first().body
    assert (said in body) if said else ("The policy" not in body)


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
    StaffMail.objects.all().delete()  # the new ticket's
    escalate(now=at(61))  # no commit in this test: the sender was never handed the rows
    assert not mail.outbox
    assert staff_mail_send_pending(now=at(70), older_than=timedelta(minutes=5)) == 2
    assert staff_mail_send_pending(now=at(70), older_than=timedelta(minutes=5)) == 0
    assert sorted(sent.to[0] for sent in mail.outbox) == ["ann@example.com",
                                                          "bob@example.com"]
    assert ticket.subject_token in mail.outbox[0].subject


@pytest.mark.parametrize(("level", "mailed"), [
    ("assigned", True),   # only their own tickets: this one is
    ("none", False),      # nothing at all, even their own
    ("all", True),
])
def test_the_assignee_hears_of_it_unless_they_want_nothing(department, team, level, mailed):
    carol = StaffFactory(email="carol@example.com")
    carol.groups.add(Department.objects.get(name="Technical support"))
    StaffSubscription.objects.create(user=carol, department=department, level=level)
    StaffSubscription.objects.create(user=team[1], department=department, level="assigned")
    ticket = _open(department)
    ticket.assignee = carol
    ticket.save()
    escalate(now=at(61))
    expected = ["ann@example.com", *(["carol@example.com"] if mailed else [])]
    assert [email for email, _level in _sla_mail(ticket)] == expected


def test_a_newly_assigned_member_hears_of_the_breach(department, team):
    """The mail goes out after the policy acted: who now holds the ticket is told."""
    StaffSubscription.objects.create(user=team[1], department=department, level="assigned")
    SlaPolicy.objects.filter(department=department).update(
        breach_reassign=BreachReassign.ASSIGN, breach_assignee=team[1])
    ticket = _open(department)
    escalate(now=at(61))
    assert [email for email, _level in _sla_mail(ticket)] == ["ann@example.com",
                                                              "bob@example.com"]


def test_an_assignee_who_may_not_see_the_queue_is_not_mailed(department, team):
    ticket = _open(department)
    ticket.assignee = StaffFactory(email="outsider2@example.com")
    ticket.save()
    escalate(now=at(61))
    assert [email for email, _level in _sla_mail(ticket)] == ["ann@example.com",
                                                              "bob@example.com"]


def test_an_escalation_and_a_client_reply_in_the_same_minute_are_separate_mails(
        department, team):
    ticket = _open(department)
    StaffMail.objects.all().delete()  # the new ticket's
    tickets.ticket_reply_client(ticket=ticket, user=None, body="Still down!", now=at(61))
    assert escalate(now=at(61)) == 1
    rows = StaffMail.objects.filter(ticket=ticket)
    assert sorted(rows.values_list("event", "email")) == [
        ("client_reply", "ann@example.com"), ("client_reply", "bob@example.com"),
        ("sla_breach", "ann@example.com"), ("sla_breach", "bob@example.com")]
    assert _send_all() == 4
    assert len(mail.outbox) == 4
    bodies = {sent.to[0]: [] for sent in mail.outbox}
    for sent in mail.outbox:
        bodies[sent.to[0]].append(sent.body)
    for received in bodies.values():
        assert sorted("Still down!" in body for body in received) == [False, True]


def test_two_levels_in_one_beat_are_two_mails_and_a_rerun_writes_none(department, team):
    ticket = _open(department, now=at(-1000))  # both targets long missed
    StaffMail.objects.all().delete()  # the new ticket's
    assert escalate(now=at(0)) == 2
    assert _sla_mail(ticket) == [("ann@example.com", "First response breached"),
                                 ("ann@example.com", "Resolution breached"),
                                 ("bob@example.com", "First response breached"),
                                 ("bob@example.com", "Resolution breached")]
    assert escalate(now=at(0)) == 0
    for escalation in ticket.escalations.all():  # even called again for each level
        assert not escalate_ticket(ticket_id=ticket.pk, level=escalation.level, now=at(1))
    assert StaffMail.objects.filter(ticket=ticket).count() == 4


def test_the_beat_task_runs_every_step(department, team):
    ticket = _open(department, now=datetime(2020, 1, 1, tzinfo=UTC))
    result = sla_tick()
    assert result["escalated"] == 2  # both targets long missed
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW
    assert set(result) == {"escalated", "warned", "closed", "archived"}
    assert StaffMail.objects.filter(ticket=ticket, event="sla_breach").count() == 4


def test_a_policy_that_assigns_names_who():
    with pytest.raises(ValidationError, match="Choose who takes"):
        SlaPolicy(breach_reassign=BreachReassign.ASSIGN).clean()
    SlaPolicy(breach_reassign=BreachReassign.UNASSIGN).clean()

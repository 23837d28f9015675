"""Staff hear of tickets by e-mail as they chose per department (all, assigned to them,
none; by default all for the departments they work); each mail is written in the event's
transaction, sent by a worker once, and retried by the beat's sweep after a failure."""

import re
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from accounts.models import Department
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support import tickets
from support.models import StaffEvent, StaffMail, StaffSubscription, SubscriptionLevel
from support.staff_mail import (
    MAX_ATTEMPTS,
    staff_mail_send,
    staff_mail_send_one,
    staff_mail_send_pending,
    staff_notify,
)
from support.subscriptions import effective_level, subscriptions_set, wants
from tests.celery_worker import running_worker
from tests.factories.accounts import AdminFactory, ClientFactory, StaffFactory
from tests.factories.services import ServiceFactory
from tests.factories.support import WHEN, SupportDepartmentFactory

pytestmark = pytest.mark.django_db

ALL, ASSIGNED, NONE = "all", "assigned", "none"
NEW, REPLY, MINE, SLA = "ticket_new", "client_reply", "ticket_assigned", "sla_breach"


@pytest.mark.parametrize(("chosen", "works", "may_see", "expected"), [
    (None, True, True, ALL),        # works the department, chose nothing: all
    (None, False, True, NONE),      # an administrator who chose nothing: none
    (ASSIGNED, True, True, ASSIGNED),
    (NONE, True, True, NONE),
    (ALL, False, True, ALL),        # an administrator who asked for all
    (ALL, False, False, NONE),      # moved to another department: the old choice is void
    (None, True, False, NONE),
])
def test_the_level_that_applies(chosen, works, may_see, expected):
    assert effective_level(chosen=chosen, works=works, may_see=may_see) == expected


@pytest.mark.parametrize(("level", "event", "is_assignee", "mailed"), [
    (ALL, NEW, False, True), (ALL, REPLY, False, True), (ALL, SLA, False, True),
    (ALL, MINE, False, False), (ALL, MINE, True, True), (ALL, REPLY, True, True),
    (ASSIGNED, NEW, False, False), (ASSIGNED, REPLY, False, False),
    (ASSIGNED, SLA, False, False), (ASSIGNED, REPLY, True, True),
    (ASSIGNED, MINE, True, True), (ASSIGNED, SLA, True, True),
    (NONE, NEW, False, False), (NONE, REPLY, True, False), (NONE, MINE, True, False),
    # An escalation (at risk or missed): the department at all, the assignee unless none.
    (ALL, SLA, True, True), (NONE, SLA, True, False), (NONE, SLA, False, False),
])
def test_who_is_mailed_about_what(level, event, is_assignee, mailed):
    assert wants(level=level, event=event, is_assignee=is_assignee) is mailed


@pytest.fixture
def team():
    """The technical department, worked by "Technical support": three members with
    different choices, one of Sales, and an administrator."""
    department = SupportDepartmentFactory(email="support@host.example")
    tech = Department.objects.get(name="Technical support")
    people = {}
    for name, level in [("dflt", None), ("mine", ASSIGNED), ("quiet", NONE)]:
        people[name] = StaffFactory(email=f"{name}@staff.example")
        people[name].groups.add(tech)
        if level:
            StaffSubscription.objects.create(user=people[name], department=department,
                                             level=level)
    people["sales"] = StaffFactory(email="sales@staff.example")
    people["sales"].groups.add(Department.objects.get_or_create(name="Sales")[0])
    people["admin"] = AdminFactory(email="admin@staff.example")
    people["department"] = department
    return people


def _open(team, **fields):
    client = ClientFactory(name="Dana Client")
    return tickets.ticket_open(client=client, user=None, department=team["department"],
                               subject="Disk full", body="Please free some space.",
                               priority="high", now=WHEN, **fields)


def _to(ticket, event=None):
    rows = StaffMail.objects.filter(ticket=ticket)
    if event:
        rows = rows.filter(event=event)
    return sorted(rows.values_list("email", flat=True))


def test_a_new_ticket_is_written_for_who_gets_all_of_the_department(team):
    ticket = _open(team)
    assert _to(ticket) == ["dflt@staff.example"]
    assert not mail.outbox  # nothing is sent in the web process


def test_an_administrator_who_asks_for_all_gets_them(team):
    subscriptions_set(user=team["admin"], levels={team["department"].pk: ALL})
    assert _to(_open(team)) == ["admin@staff.example", "dflt@staff.example"]


def test_a_client_reply_reaches_the_assignee_who_chose_assigned_only(team):
    ticket = _open(team)
    tickets.ticket_reply_client(ticket=ticket, user=None, body="Any news?", now=WHEN)
    assert _to(ticket, REPLY) == ["dflt@staff.example"]
    ticket.assignee = team["mine"]
    ticket.save()
    tickets.ticket_reply_client(ticket=ticket, user=None, body="Hello?",
                                now=WHEN + timedelta(minutes=1))
    assert _to(ticket, REPLY) == ["dflt@staff.example", "dflt@staff.example",
                                  "mine@staff.example"]


def test_assigned_to_me_is_mailed_to_the_assignee_only_and_not_to_who_assigned(team):
    ticket = _open(team)
    ticket.assignee = team["mine"]
    ticket.save()
    staff_notify(ticket, StaffEvent.ASSIGNED, now=WHEN, actor=team["dflt"])
    assert _to(ticket, MINE) == ["mine@staff.example"]
    ticket.assignee = team["dflt"]
    ticket.save()
    assert staff_notify(ticket, StaffEvent.ASSIGNED, now=WHEN, actor=team["dflt"]) == []


def test_the_same_event_written_twice_is_one_mail(team):
    ticket = _open(team)
    message = ticket.messages.get()
    assert staff_notify(ticket, StaffEvent.NEW_TICKET, message, now=WHEN) == []
    assert StaffMail.objects.filter(key=f"ticket_new:{message.pk}:{team['dflt'].pk}"
                                    ).count() == 1
    staff_notify(ticket, StaffEvent.SLA_BREACH, now=WHEN)
    staff_notify(ticket, StaffEvent.SLA_BREACH, now=WHEN)
    assert _to(ticket, SLA) == ["dflt@staff.example"]


def test_an_unknown_event_is_refused(team):
    with pytest.raises(ValueError, match="Unknown staff event"):
        staff_notify(_open(team), "ticket_exploded", now=WHEN)


def _open_then_fail(team):
    with transaction.atomic():
        _open(team)
        raise RuntimeError("the request failed after the ticket was written")


def test_the_mail_is_written_with_the_ticket_or_not_at_all(team):
    with pytest.raises(RuntimeError):
        _open_then_fail(team)
    assert not StaffMail.objects.exists()


def test_the_worker_is_handed_the_mail_after_commit(team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        _open(team)
    assert len(callbacks) == 1  # one task per event, with the ids of its mails
    assert not mail.outbox


def test_what_the_staff_mail_says(team, settings):
    settings.SITE_URL = "https://billing.host.example"
    service = ServiceFactory(name="vps-17.host.example")
    ticket = tickets.ticket_open(client=service.client, user=None, service=service,
                                 department=team["department"], subject="Disk full",
                                 body="Please free some space.", priority="urgent", now=WHEN)
    tickets.ticket_note(ticket=ticket, user=team["dflt"], body="SECRET-NOTE", now=WHEN)
    row = StaffMail.objects.get(ticket=ticket)
    staff_mail_send([row.pk], now=WHEN)

    sent = mail.outbox[0]
    assert sent.to == ["dflt@staff.example"]
    assert sent.subject == f"[#{ticket.display_number}] Disk full: new ticket"
    assert f"https://billing.host.example/staff/support/ticket/{ticket.pk}/change/" in sent.body
    for fact in (service.client.name, "Technical support", "Urgent", "vps-17.host.example",
                 "Please free some space."):
        assert fact in sent.body
    assert "SECRET-NOTE" not in sent.body
    assert sent.from_email == "support@host.example"
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
    assert "Reply-To" not in sent.extra_headers  # staff answer in the panel, not by mail


def test_a_reply_threads_with_the_ticket_and_each_mail_has_its_own_id(team):
    ticket = _open(team, message_id="<first@client.example>")
    tickets.ticket_reply_staff(ticket=ticket, user=team["dflt"], body="Done.", now=WHEN)
    staff_reply_id = ticket.messages.get(kind="staff").message_id
    tickets.ticket_reply_client(ticket=ticket, user=None, body="Thanks!", now=WHEN,
                                message_id="<second@client.example>")
    reply = StaffMail.objects.get(ticket=ticket, event=REPLY)
    assert reply.headers["In-Reply-To"] == "<second@client.example>"
    assert reply.headers["References"].split() == [
        "<first@client.example>", staff_reply_id, "<second@client.example>"]
    new = StaffMail.objects.get(ticket=ticket, event=NEW)
    assert reply.headers["Message-ID"] != new.headers["Message-ID"]
    assert reply.headers["Message-ID"].endswith("@host.example>")


def test_two_replies_two_mails_each_and_a_rerun_sends_nothing_twice(team):
    subscriptions_set(user=team["admin"], levels={team["department"].pk: ALL})
    ticket = _open(team)
    StaffMail.objects.all().delete()  # only the replies here
    for n, body in enumerate(["First reply.", "Second reply."]):
        tickets.ticket_reply_client(ticket=ticket, user=None, body=body,
                                    now=WHEN + timedelta(minutes=n))
    ids = list(StaffMail.objects.values_list("pk", flat=True))

    assert staff_mail_send(ids, now=WHEN) == 4
    assert staff_mail_send(ids, now=WHEN) == 0
    assert staff_mail_send_pending(now=WHEN + timedelta(hours=1),
                                   older_than=timedelta(minutes=5)) == 0
    received = sorted((m.to[0], m.body.count("First reply."), m.body.count("Second reply."))
                      for m in mail.outbox)
    assert received == [("admin@staff.example", 0, 1), ("admin@staff.example", 1, 0),
                        ("dflt@staff.example", 0, 1), ("dflt@staff.example", 1, 0)]
    assert set(StaffMail.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_a_row_another_sender_holds_is_not_sent_again(team):
    row = StaffMail.objects.get(ticket=_open(team))
    StaffMail.objects.filter(pk=row.pk).update(status="sending",
                                               claimed_until=WHEN + timedelta(minutes=5))
    assert staff_mail_send_one(row.pk, now=WHEN) is False
    # Its sender died: once the claim runs out the sweep sends it.
    assert staff_mail_send_pending(now=WHEN + timedelta(minutes=6),
                                   older_than=timedelta(minutes=5)) == 1
    assert len(mail.outbox) == 1


@pytest.fixture
def mail_server_down(settings, unused_port):
    """A real SMTP client against a port nothing listens on."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", unused_port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_failure_stays_pending_with_its_error_and_the_sweep_retries(team, mail_server_down,
                                                                      settings):
    ticket = _open(team)
    tickets.ticket_reply_client(ticket=ticket, user=None, body="More.", now=WHEN)
    ids = list(StaffMail.objects.order_by("pk").values_list("pk", flat=True))

    assert staff_mail_send(ids, now=WHEN) == 0
    first, second = StaffMail.objects.order_by("pk")
    assert (first.status, first.attempts, first.sent_at) == ("pending", 1, None)
    assert "Connection" in first.error or "refused" in first.error.lower()
    assert (second.status, second.attempts) == ("pending", 0)  # the batch stopped

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # it is back
    assert staff_mail_send_pending(now=WHEN + timedelta(minutes=1),
                                   older_than=timedelta(minutes=5)) == 0  # too fresh yet
    assert staff_mail_send_pending(now=WHEN + timedelta(minutes=10),
                                   older_than=timedelta(minutes=5)) == 2
    first.refresh_from_db()
    assert (first.status, first.attempts, first.error) == ("sent", 2, "")
    assert len(mail.outbox) == 2


def test_a_mail_refused_too_often_is_given_up(team, mail_server_down):
    row = StaffMail.objects.get(ticket=_open(team))
    StaffMail.objects.filter(pk=row.pk).update(attempts=MAX_ATTEMPTS - 1)
    staff_mail_send([row.pk], now=WHEN)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert staff_mail_send_pending(now=WHEN + timedelta(days=1),
                                   older_than=timedelta(minutes=5)) == 0


def test_a_recipient_who_left_is_not_mailed(team):
    row = StaffMail.objects.get(ticket=_open(team))
    team["dflt"].is_active = False
    team["dflt"].save()
    assert staff_mail_send([row.pk], now=WHEN) == 0
    row.refresh_from_db()
    assert row.status == "cancelled"
    assert not mail.outbox


# The subscription page ----------------------------------------------------------------


def _support_member(client):
    member = StaffFactory(email="member@staff.example")
    member.groups.add(department_sync(name="Technical support",
                                      codenames=DEFAULT_DEPARTMENTS["Technical support"]))
    client.force_login(member)
    return member


def test_a_staff_member_sets_their_own(client):
    technical = SupportDepartmentFactory()
    SupportDepartmentFactory(slug="sales", name="Sales", staff_departments=["Sales"])
    member = _support_member(client)
    url = reverse("admin:support_staffmail_subscriptions")

    page = client.get(url).content.decode()
    assert "Technical support" in page
    assert ">Sales<" not in page  # a queue they do not work is not offered
    assert re.search(rf'value="all"[^>]*id="id_department_{technical.pk}_0"[^>]*checked', page)

    response = client.post(url, {f"department_{technical.pk}": ASSIGNED})
    assert response.status_code == 302
    assert StaffSubscription.objects.get(user=member).level == SubscriptionLevel.ASSIGNED


def test_bad_input_changes_nothing(client):
    technical = SupportDepartmentFactory()
    member = _support_member(client)
    url = reverse("admin:support_staffmail_subscriptions")
    response = client.post(url, {f"department_{technical.pk}": "everything"})
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not StaffSubscription.objects.filter(user=member).exists()


def test_a_department_they_do_not_work_cannot_be_chosen(client):
    SupportDepartmentFactory()
    sales = SupportDepartmentFactory(slug="sales", name="Sales", staff_departments=["Sales"])
    member = _support_member(client)
    client.post(reverse("admin:support_staffmail_subscriptions"),
                {f"department_{sales.pk}": ALL})
    assert not StaffSubscription.objects.filter(user=member).exists()


def test_another_staff_members_page_takes_the_permission(client):
    technical = SupportDepartmentFactory()
    other = StaffFactory()
    other.groups.add(Department.objects.get(name="Technical support"))
    _support_member(client)
    url = reverse("admin:support_staffmail_subscriptions_user", args=[other.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {f"department_{technical.pk}": NONE}).status_code == 403

    client.force_login(AdminFactory())
    assert client.get(reverse("admin:support_staffmail_subscriptions")
                      + f"?user={other.pk}")["Location"] == url
    assert client.get(url).status_code == 200
    assert client.post(url, {f"department_{technical.pk}": NONE}).status_code == 302
    assert StaffSubscription.objects.get(user=other).level == NONE
    assert client.get(reverse("admin:support_staffmail_subscriptions_user",
                              args=[999_999_999])).status_code == 404


def test_staff_of_no_support_department_are_told_so(client):
    SupportDepartmentFactory()
    client.force_login(StaffFactory())
    page = client.get(reverse("admin:support_staffmail_subscriptions"))
    assert page.status_code == 200
    assert "no ticket e-mail reaches you" in page.content.decode()


def test_the_assignment_in_the_staff_panel_mails_the_new_assignee(client, team):
    ticket = _open(team)
    StaffMail.objects.all().delete()
    admin = team["admin"]
    client.force_login(admin)
    url = reverse("admin:support_ticket_change", args=[ticket.pk])
    form = {"department": ticket.department_id, "category": "", "priority": "high",
            "status": ticket.status, "assignee": team["mine"].pk}
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _to(ticket, MINE) == ["mine@staff.example"]
    client.post(url, form)  # the same form again: no change, no second mail
    assert _to(ticket, MINE) == ["mine@staff.example"]


# A real worker ------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_what_the_ticket_wrote(team):
    with running_worker() as worker:
        ticket = _open(team)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and StaffMail.objects.filter(
                ticket=ticket, status="sent").count() < 1:
            time.sleep(0.2)
    row = StaffMail.objects.get(ticket=ticket)
    assert row.status == "sent", worker.log_path.read_text()[-3000:]
    assert row.attempts == 1
    assert ticket.subject_token in worker.log_path.read_text()


def test_staff_mail_is_listed_for_the_queues_one_works_only(client, team):
    ticket = _open(team)
    sales_queue = SupportDepartmentFactory(slug="sales", name="Sales queue",
                                           staff_departments=["Sales"])
    hidden = tickets.ticket_open(client=ClientFactory(), user=None, department=sales_queue,
                                 subject="Secret deal", body="Quote please.", now=WHEN)
    StaffMail.objects.create(recipient=team["sales"], ticket=hidden, event=NEW,
                             key="k-hidden", email="sales@staff.example", subject="Secret deal",
                             body="b", created_at=WHEN)
    member = _support_member(client)
    page = client.get(reverse("admin:support_staffmail_changelist")).content.decode()
    assert "dflt@staff.example" in page
    assert "sales@staff.example" not in page
    hidden_row = StaffMail.objects.get(key="k-hidden")
    assert client.get(reverse("admin:support_staffmail_change", args=[hidden_row.pk])
                      ).status_code == 302  # "does not exist" for this member
    assert member.has_perm("support.view_staffmail")
    assert StaffMail.objects.filter(ticket=ticket).exists()

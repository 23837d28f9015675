"""The E-mail screen: staff decide on mail from unknown senders (and spam) once each: turn
it into a ticket, add it as a reply, discard it (maybe inviting the sender to register),
or add the sender to the spam rules."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from accounts.models import Access, ActionLog
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support import inbound, triage
from support.models import (
    InboundEmail,
    InboundOutcome,
    MessageKind,
    Priority,
    SenderInvitation,
    SpamRule,
    Ticket,
    TicketStatus,
)
from support.outbox import invitation_send, invitations_send_pending
from support.spam import spam_rules_default
from tests.factories.accounts import ClientFactory, ClientUserFactory, StaffFactory, UserFactory
from tests.factories.services import ServiceFactory
from tests.factories.support import (
    WHEN,
    CategoryFactory,
    MessageFactory,
    SupportDepartmentFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db
Out = InboundOutcome
PNG = (b"iVBORw0KGgoAAAANSUhEUgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n"
       b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n")


def stranger_mail(*, message_id="<s-1@elsewhere.example>", sender="stranger@elsewhere.example",
                  subject="Do you sell VPS?", extra=b"") -> bytes:
    """A stranger's HTML mail with a script in it and a PNG attached."""
    return (f"From: Sam Stranger <{sender}>\r\nTo: support@openbill.test\r\n"
            f"Subject: {subject}\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
            ).encode() + extra + (
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p onclick=\"steal()\">Two <b>VPS</b> please</p><script>alert(1)</script>\r\n"
        b"--B\r\nContent-Type: image/png\r\n"
        b'Content-Disposition: attachment; filename="plan.png"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + PNG + b"--B--\r\n")


@pytest.fixture(autouse=True)
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    spam_rules_default(now=WHEN)
    department = SupportDepartmentFactory(email="support@openbill.test")
    client = ClientFactory(name="Dana Client")
    ClientUserFactory(client=client, owner=True, user=UserFactory(email="alice@client.example"))
    carol = ClientUserFactory(client=client, user=UserFactory(email="carol@client.example"),
                              support_access=Access.NONE).user
    ticket = TicketFactory(client=client, department=department, subject="Site down",
                           status=TicketStatus.AWAITING_CLIENT)
    MessageFactory(ticket=ticket, kind=MessageKind.STAFF, message_id="<staff-1@openbill.test>")
    return {"department": department, "client": client, "carol": carol, "ticket": ticket}


def receive(raw: bytes) -> InboundEmail:
    return inbound.receive(raw, route="pipe", now=WHEN).inbound


@pytest.fixture
def support_staff(client):
    employee = StaffFactory(email="sam@staff.example")
    employee.groups.add(department_sync(name="Technical support",
                                        codenames=DEFAULT_DEPARTMENTS["Technical support"]))
    client.force_login(employee)
    return employee


def url(name: str, received: InboundEmail) -> str:
    return reverse(f"admin:support_inboundemail_{name}", args=[received.pk])


def ticket_form(world, **changes) -> dict:
    service = ServiceFactory(client=world["client"])
    return {"client": world["client"].pk, "department": world["department"].pk,
            "category": CategoryFactory(department=world["department"]).pk,
            "priority": Priority.HIGH, "service": service.pk, "subject": "Two VPS", **changes}


# -- the list --------------------------------------------------------------------------

def test_the_list_opens_on_what_is_to_decide_with_its_count(client, support_staff, world):
    receive(stranger_mail())
    receive(stranger_mail(message_id="<s-2@x>", sender="other@elsewhere.example"))
    receive(stranger_mail(message_id="<s-3@x>", sender="spammer@spam.example",
                          extra=b"X-Spam-Flag: YES\r\n"))
    receive(b"From: alice@client.example\r\nSubject: New\r\nMessage-ID: <a@x>\r\n\r\nHi\r\n")
    changelist = reverse("admin:support_inboundemail_changelist")

    default = client.get(changelist).text
    spam = client.get(changelist, {"view": "spam"}).text
    everything = client.get(changelist, {"view": "all"}).text

    assert "To decide (2)" in default
    assert "stranger@elsewhere.example" in default
    assert "other@elsewhere.example" in default
    assert "spammer@spam.example" not in default
    assert "alice@client.example" not in default
    assert "spammer@spam.example" in spam
    assert "stranger@elsewhere.example" not in spam
    assert all(sender in everything for sender in (
        "stranger@elsewhere.example", "spammer@spam.example", "alice@client.example"))


def test_the_message_page_previews_the_text_and_offers_the_decisions(client, support_staff):
    received = receive(stranger_mail())
    page = client.get(reverse("admin:support_inboundemail_change", args=[received.pk])).text
    assert "Two VPS please" in page
    assert "alert(1)" not in page
    assert "plan.png" in page
    for name in ("ticket", "discard", "block"):
        assert url(name, received) in page
    assert url("reply", received) not in page  # it matched no ticket


# -- turn into a ticket ------------------------------------------------------------------

def test_staff_turn_a_strangers_mail_into_a_ticket_for_a_client(client, support_staff, world):
    raw = stranger_mail()
    received = receive(raw)
    form = ticket_form(world)

    preview = client.get(url("ticket", received))
    response = client.post(url("ticket", received), form)

    assert preview.status_code == 200
    assert "Two VPS please" in preview.text
    assert response.status_code == 302
    ticket = Ticket.objects.exclude(pk=world["ticket"].pk).get()
    assert response["Location"] == reverse("admin:support_ticket_change", args=[ticket.pk])
    assert (ticket.client, ticket.department, ticket.priority, ticket.subject) == (
        world["client"], world["department"], Priority.HIGH, "Two VPS")
    assert ticket.service.pk == form["service"]
    assert ticket.category.pk == form["category"]
    assert ticket.opened_by is None  # the stranger has no account
    first = ticket.messages.get()
    assert first.kind == MessageKind.CLIENT
    assert "<b>VPS</b>" in first.body_html
    for hostile in ("<script", "onclick", "alert"):
        assert hostile not in first.body_html
    assert [a.original_name for a in first.attachments.all()] == ["plan.png"]
    assert first.message_id == "<s-1@elsewhere.example>"
    received.refresh_from_db()
    assert bytes(received.raw) == raw
    assert (received.outcome, received.ticket, received.ticket_message) == (
        Out.TICKET_CREATED, ticket, first)
    assert received.decided_by == support_staff
    assert received.decided_at is not None
    logged = ActionLog.objects.get(action="inboundemail.ticket_created")
    assert (logged.actor, logged.client, logged.details["ticket"]) == (
        support_staff, world["client"], ticket.display_number)


def test_a_service_of_another_client_is_refused_and_nothing_changes(client, support_staff,
                                                                    world):
    received = receive(stranger_mail())
    foreign = ServiceFactory()
    response = client.post(url("ticket", received), ticket_form(world, service=foreign.pk))
    assert response.status_code == 200
    assert "belongs to another client" in response.text
    assert Ticket.objects.count() == 1
    received.refresh_from_db()
    assert received.outcome == Out.UNKNOWN_SENDER
    assert received.decided_by is None


@pytest.mark.parametrize("changes", [{"client": ""}, {"client": "999999"},
                                     {"client": "abc"}, {"client": "9" * 30},
                                     {"service": "1 OR 1=1"}, {"subject": ""},
                                     {"priority": "whenever"}, {"department": "999999"}])
def test_bad_input_gets_a_message_and_changes_nothing(client, support_staff, world, changes):
    received = receive(stranger_mail())
    response = client.post(url("ticket", received), ticket_form(world, **changes))
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Ticket.objects.count() == 1
    assert InboundEmail.objects.get().outcome == Out.UNKNOWN_SENDER


def test_a_department_the_staff_member_does_not_work_is_not_offered(client, support_staff,
                                                                    world):
    elsewhere = SupportDepartmentFactory(name="Sales", slug="sales", staff_departments=["Sales"])
    received = receive(stranger_mail())
    response = client.post(url("ticket", received),
                           ticket_form(world, department=elsewhere.pk))
    assert "department" in response.context["form"].errors
    assert Ticket.objects.count() == 1


def test_a_double_submit_opens_one_ticket(client, support_staff, world):
    received = receive(stranger_mail())
    form = ticket_form(world)
    client.post(url("ticket", received), form)
    again = client.post(url("ticket", received), form)
    assert again.status_code == 200
    assert "decided already" in again.text
    assert Ticket.objects.count() == 2
    assert ActionLog.objects.filter(action="inboundemail.ticket_created").count() == 1


def test_a_decision_taken_meanwhile_is_not_taken_again():
    received = receive(stranger_mail())
    staff = StaffFactory()
    triage.inbound_discard(inbound_id=received.pk, actor=staff, now=WHEN)
    with pytest.raises(ValidationError) as refused:
        triage.inbound_ticket_create(inbound_id=received.pk, actor=staff,
                                     client=ClientFactory(), department=SupportDepartmentFactory(),
                                     subject="x", now=WHEN)
    assert refused.value.code == "decided"
    assert InboundEmail.objects.get().outcome == Out.DISCARDED


@pytest.mark.django_db(transaction=True)
def test_two_staff_at_once_decide_once(world):
    received = receive(stranger_mail())
    start = threading.Barrier(2)
    results = []

    def decide(staff):
        try:
            start.wait(timeout=30)
            triage.inbound_ticket_create(
                inbound_id=received.pk, actor=staff, client=world["client"],
                department=world["department"], subject="Two VPS", now=WHEN)
            results.append("opened")
        except ValidationError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(StaffFactory(),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == ["decided", "opened"]
    assert Ticket.objects.filter(client=world["client"]).count() == 2  # the fixture's + one


# -- a reply that failed the sender check ------------------------------------------------

def colleague_reply(world) -> bytes:
    return (f"From: Carol <carol@client.example>\r\nSubject: Re: {world['ticket'].subject_token}"
            f" Site down\r\nMessage-ID: <carol-1@client.example>\r\n"
            f"In-Reply-To: <staff-1@openbill.test>\r\n\r\nIt is back up.\r\n\r\n"
            f"On Monday support wrote:\r\n> We restarted it.\r\n").encode()


def test_a_colleague_without_the_right_is_added_as_a_reply_by_staff(client, support_staff,
                                                                    world):
    received = receive(colleague_reply(world))
    assert (received.outcome, received.ticket) == (Out.UNKNOWN_SENDER, world["ticket"])
    page = client.get(reverse("admin:support_inboundemail_change", args=[received.pk])).text
    assert url("reply", received) in page

    response = client.post(url("reply", received))

    assert response.status_code == 302
    ticket = world["ticket"]
    ticket.refresh_from_db()
    added = ticket.messages.get(message_id="<carol-1@client.example>")
    assert (added.kind, added.author, added.body_text) == (
        MessageKind.CLIENT, world["carol"], "It is back up.")
    assert ticket.status == TicketStatus.AWAITING_STAFF
    received.refresh_from_db()
    assert (received.outcome, received.ticket_message, received.decided_by) == (
        Out.REPLY_ADDED, added, support_staff)
    assert ActionLog.objects.filter(action="inboundemail.reply_added").count() == 1
    assert client.post(url("reply", received)).status_code == 200  # decided: nothing again
    assert ticket.messages.count() == 2


def test_no_reply_to_a_ticket_in_a_queue_the_staff_member_does_not_work(client, support_staff,
                                                                        world):
    world["ticket"].department = SupportDepartmentFactory(name="Sales", slug="sales",
                                                          staff_departments=["Sales"])
    world["ticket"].save()
    received = receive(colleague_reply(world))
    assert url("reply", received) not in client.get(
        reverse("admin:support_inboundemail_change", args=[received.pk])).text
    assert client.post(url("reply", received)).status_code == 403
    assert InboundEmail.objects.get().outcome == Out.UNKNOWN_SENDER


# -- discard, and invite -------------------------------------------------------------------

def test_discarding_keeps_the_raw_and_says_who(client, support_staff):
    raw = stranger_mail()
    received = receive(raw)
    mail.outbox.clear()
    response = client.post(url("discard", received), {})
    assert response.status_code == 302
    received.refresh_from_db()
    assert (received.outcome, received.decided_by) == (Out.DISCARDED, support_staff)
    assert bytes(received.raw) == raw
    assert not SenderInvitation.objects.exists()
    assert mail.outbox == []
    assert ActionLog.objects.get(action="inboundemail.discarded").details["invited"] is False


def test_a_stranger_is_invited_to_register_once(client, support_staff, world,
                                                django_capture_on_commit_callbacks):
    received = inbound.receive(stranger_mail(), route="pipe", department=world["department"],
                               now=WHEN).inbound
    preview = client.get(url("discard", received))
    assert "/auth/signup/" in preview.text

    with django_capture_on_commit_callbacks() as queued:
        client.post(url("discard", received), {"invite": "on"})
    client.post(url("discard", received), {"invite": "on"})  # a double submit

    invitation = SenderInvitation.objects.get()
    assert invitation.inbound == received
    assert invitation.email == "stranger@elsewhere.example"
    assert "http://testserver/auth/signup/" in invitation.body
    assert invitation.sent_at is None  # written ahead; the task sends it
    assert len(queued) == 1  # the invitation's task, after commit
    mail.outbox.clear()
    assert invitation_send(invitation.pk, now=WHEN) is True
    assert invitation_send(invitation.pk, now=WHEN) is False  # the task retried: sent once
    assert invitations_send_pending(now=WHEN.replace(year=2027),
                                    older_than=timedelta(minutes=5)) == 0
    [sent] = mail.outbox
    assert sent.to == ["stranger@elsewhere.example"]
    assert sent.extra_headers["In-Reply-To"] == "<s-1@elsewhere.example>"
    assert sent.extra_headers["Auto-Submitted"] == "auto-replied"
    assert sent.from_email == "support@openbill.test"  # the department it was sent to
    assert "Do you sell VPS?" in sent.subject


def test_an_unsent_invitation_is_sent_by_the_sweep(support_staff):
    received = receive(stranger_mail())
    triage.inbound_discard(inbound_id=received.pk, actor=support_staff, now=WHEN,
                           invite_signup_url="https://billing.example/auth/signup/")
    mail.outbox.clear()
    assert invitations_send_pending(now=WHEN, older_than=timedelta(minutes=5)) == 0  # too new
    assert invitations_send_pending(now=WHEN + timedelta(minutes=6),
                                    older_than=timedelta(minutes=5)) == 1
    assert len(mail.outbox) == 1
    assert SenderInvitation.objects.get().sent_at == WHEN + timedelta(minutes=6)


@pytest.mark.parametrize("raw", [
    b"From: carol@client.example\r\nSubject: Hi\r\nMessage-ID: <c@x>\r\n\r\nHello\r\n",
    b"From: spam@spam.example\r\nX-Spam-Flag: YES\r\nMessage-ID: <sp@x>\r\n\r\nBuy\r\n",
])
def test_no_invitation_for_someone_with_an_account_or_for_spam(client, support_staff, raw):
    received = receive(raw)
    response = client.post(url("discard", received), {"invite": "on"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not SenderInvitation.objects.exists()
    assert InboundEmail.objects.get().decided_by is None


# -- block the sender ------------------------------------------------------------------

def test_the_sender_is_added_to_the_spam_rules_and_later_mail_is_spam(client, support_staff):
    received = receive(stranger_mail())
    response = client.post(url("block", received), {"kind": SpamRule.Kind.SENDER})
    assert response.status_code == 302
    rule = SpamRule.objects.get(kind=SpamRule.Kind.SENDER)
    assert (rule.value, rule.created_by) == ("stranger@elsewhere.example", support_staff)
    received.refresh_from_db()
    assert (received.outcome, received.spam_rule, received.decided_by) == (
        Out.SPAM, rule, support_staff)
    later = receive(stranger_mail(message_id="<s-9@elsewhere.example>"))
    assert (later.outcome, later.spam_rule) == (Out.SPAM, rule)
    client.post(url("block", received), {"kind": SpamRule.Kind.DOMAIN})  # a double submit
    assert SpamRule.objects.filter(created_by=support_staff).count() == 1


def test_a_domain_of_our_own_users_is_never_blocked(client, support_staff):
    received = receive(stranger_mail(sender="mallory@client.example"))
    response = client.post(url("block", received), {"kind": SpamRule.Kind.DOMAIN})
    assert response.status_code == 200
    assert "would lose their mail" in response.text
    assert not SpamRule.objects.filter(kind=SpamRule.Kind.DOMAIN).exists()
    assert InboundEmail.objects.get().outcome == Out.UNKNOWN_SENDER


def test_a_false_positive_spam_can_still_become_a_ticket(client, support_staff, world):
    received = receive(stranger_mail(extra=b"X-Spam-Flag: YES\r\n"))
    assert received.outcome == Out.SPAM
    assert client.post(url("ticket", received), ticket_form(world)).status_code == 302
    assert InboundEmail.objects.get().outcome == Out.TICKET_CREATED


# -- who may decide ----------------------------------------------------------------------

@pytest.mark.parametrize("department", ["Accounting", "Sales"])
@pytest.mark.parametrize("name", ["ticket", "reply", "discard", "block"])
def test_other_departments_may_not_decide(client, world, department, name):
    received = receive(colleague_reply(world))
    employee = StaffFactory()
    employee.groups.add(department_sync(name=department,
                                        codenames=DEFAULT_DEPARTMENTS[department]))
    client.force_login(employee)
    assert client.get(url(name, received)).status_code == 403
    assert client.post(url(name, received), {}).status_code == 403
    assert InboundEmail.objects.get().outcome == Out.UNKNOWN_SENDER


def test_mail_to_a_department_is_for_its_staff_only(client, support_staff):
    sales = SupportDepartmentFactory(name="Sales", slug="sales", staff_departments=["Sales"])
    received = inbound.receive(stranger_mail(), route="pipe", department=sales,
                               now=WHEN).inbound
    assert client.get(url("ticket", received)).status_code == 404
    assert "stranger@elsewhere.example" not in client.get(
        reverse("admin:support_inboundemail_changelist")).text


# -- hostile mail ------------------------------------------------------------------------

@settings_hypothesis(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=1500), subject=st.text(max_size=100))
def test_a_hostile_message_is_decided_on_or_refused_never_an_error(client, support_staff,
                                                                   world, junk, subject):
    raw = (b"From: stranger@elsewhere.example\r\nSubject: "
           + subject.encode("utf-8", errors="surrogateescape")
           + b"\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" + junk)
    received = receive(raw)
    if not triage.is_decidable(received):
        return  # a bounce or a loop by its headers: nothing to decide
    page = client.get(reverse("admin:support_inboundemail_change", args=[received.pk]))
    assert page.status_code == 200
    response = client.post(url("ticket", received), ticket_form(world, service=""))
    assert response.status_code in (200, 302)
    received.refresh_from_db()
    assert bytes(received.raw) == raw
    assert received.outcome in (Out.TICKET_CREATED, Out.UNKNOWN_SENDER, Out.SPAM)

"""Followers: the client's users with the support right who get staff replies by e-mail
besides the client's own address; the opener follows from the start, others follow from
the ticket's page; each address is mailed once per reply, and only while the right lasts.
Also: a user who may only read tickets cannot open, answer, close or rate them."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Access, Notification
from accounts.notifications import notifications_send_pending
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support import tickets
from support.followers import mailed_followers, ticket_follow
from support.models import Ticket, TicketFollower, TicketStatus
from support.notifications import client_notify_answered
from tests.factories.accounts import ClientUserFactory, StaffFactory, UserFactory
from tests.factories.support import WHEN, SupportDepartmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    """A client (dana@) whose owner shares the client's address, a colleague who may
    manage tickets and one who may only read them."""
    owner = ClientUserFactory(owner=True, client__email="dana@client.example",
                              user__email="dana@client.example")
    client = owner.client
    return {
        "client": client, "owner": owner.user,
        "manager": ClientUserFactory(client=client, user__email="chris@client.example").user,
        "reader": ClientUserFactory(client=client, support_access=Access.READ,
                                    user__email="robin@client.example").user,
    }


def _open(account, user):
    return tickets.ticket_open(client=account["client"], user=user,
                               department=SupportDepartmentFactory(), subject="Site down",
                               body="It does not answer.", now=WHEN)


def _answer(ticket, body="Fixed.", minutes=0):
    return tickets.ticket_reply_staff(ticket=ticket, user=StaffFactory(), body=body,
                                      now=WHEN + timedelta(minutes=minutes))


def _mailed(message):
    return sorted(Notification.objects.filter(key__startswith=f"ticket_answered:{message.pk}")
                  .values_list("email", flat=True))


def test_the_opener_follows_from_the_start(account):
    ticket = _open(account, account["manager"])
    assert list(TicketFollower.objects.filter(ticket=ticket).values_list("user", flat=True)
                ) == [account["manager"].pk]


def test_staff_or_e_mail_without_a_user_follow_nothing(account):
    assert not TicketFollower.objects.filter(ticket=_open(account, None)).exists()
    assert not TicketFollower.objects.filter(ticket=_open(account, StaffFactory())).exists()


def test_a_staff_reply_reaches_the_client_and_every_follower_once(account):
    ticket = _open(account, account["manager"])
    ticket_follow(ticket=ticket, user=account["reader"], now=WHEN)
    ticket_follow(ticket=ticket, user=account["owner"], now=WHEN)  # the client's address
    ticket_follow(ticket=ticket, user=account["reader"], now=WHEN)  # twice is once
    message = _answer(ticket)
    assert _mailed(message) == ["chris@client.example", "dana@client.example",
                                "robin@client.example"]
    keys = set(Notification.objects.values_list("key", flat=True))
    assert keys == {f"ticket_answered:{message.pk}",
                    f"ticket_answered:{message.pk}:{account['manager'].pk}",
                    f"ticket_answered:{message.pk}:{account['reader'].pk}"}


def test_two_replies_two_mails_per_recipient_and_no_resend(account, mailoutbox):
    ticket = _open(account, account["manager"])
    first, second = _answer(ticket, "First."), _answer(ticket, "Second.", minutes=1)
    for message in (first, second):
        assert _mailed(message) == ["chris@client.example", "dana@client.example"]
    # The sweep finds nothing to do twice: every notification is sent or goes out once.
    later = timezone.now() + timedelta(minutes=1)  # notifications are stamped when written
    assert notifications_send_pending(now=later, older_than=timedelta(0)) == 4
    assert notifications_send_pending(now=later, older_than=timedelta(0)) == 0
    received = sorted((m.to[0], "First." in m.body) for m in mailoutbox)
    assert received == [("chris@client.example", False), ("chris@client.example", True),
                        ("dana@client.example", False), ("dana@client.example", True)]


def test_the_follower_mail_threads_like_the_clients(account):
    ticket = _open(account, account["manager"])
    message = _answer(ticket)
    client_mail, follower_mail = (Notification.objects.get(key=f"ticket_answered:{message.pk}"),
                                  Notification.objects.get(email="chris@client.example"))
    assert follower_mail.headers == client_mail.headers
    assert follower_mail.headers["Message-ID"] == message.message_id
    assert ticket.subject_token in follower_mail.subject


def test_a_follower_who_loses_the_support_right_is_no_longer_mailed(account):
    ticket = _open(account, account["manager"])
    assert mailed_followers(ticket) == [account["manager"]]
    account["manager"].client_membership.support_access = Access.NONE
    account["manager"].client_membership.save()
    assert _mailed(_answer(ticket)) == ["dana@client.example"]


def test_a_follower_who_left_the_account_is_no_longer_mailed(account):
    ticket = _open(account, account["manager"])
    account["manager"].client_membership.delete()
    assert _mailed(_answer(ticket)) == ["dana@client.example"]


def test_internal_notes_are_never_mailed_to_the_client_or_followers(account):
    ticket = _open(account, account["manager"])
    tickets.ticket_note(ticket=ticket, user=StaffFactory(), body="Rude.", now=WHEN)
    assert not Notification.objects.exists()
    with pytest.raises(ValueError, match="Only a staff reply"):
        client_notify_answered(ticket.messages.get(kind="internal_note"))


# The follow button --------------------------------------------------------------------


def _signed_in(client, user):
    client.force_login(user)
    return client


def test_a_reader_follows_and_stops_from_the_ticket_page(client, account):
    ticket = _open(account, account["manager"])
    browser = _signed_in(client, account["reader"])
    url = reverse("support:ticket", args=[ticket.pk])
    assert "Follow by e-mail" in browser.get(url).content.decode()

    assert browser.post(reverse("support:follow", args=[ticket.pk])).status_code == 302
    assert TicketFollower.objects.filter(ticket=ticket, user=account["reader"]).exists()
    assert "Stop following" in browser.get(url).content.decode()

    assert browser.post(reverse("support:follow", args=[ticket.pk]),
                        {"stop": "1"}).status_code == 302
    assert not TicketFollower.objects.filter(ticket=ticket, user=account["reader"]).exists()


def test_a_user_without_the_support_right_cannot_follow(client, account):
    ticket = _open(account, account["manager"])
    outsider = ClientUserFactory(client=account["client"], support_access=Access.NONE).user
    response = _signed_in(client, outsider).post(reverse("support:follow", args=[ticket.pk]))
    assert response.status_code == 403
    assert not TicketFollower.objects.filter(user=outsider).exists()
    with pytest.raises(Exception, match="support right"):
        ticket_follow(ticket=ticket, user=outsider, now=WHEN)


def test_another_clients_ticket_cannot_be_followed(client, account):
    foreign = _open({"client": ClientUserFactory(owner=True).client}, None)
    response = _signed_in(client, account["manager"]).post(
        reverse("support:follow", args=[foreign.pk]))
    assert response.status_code == 404
    assert not TicketFollower.objects.filter(ticket=foreign).exists()
    with pytest.raises(Exception, match="support right"):
        ticket_follow(ticket=foreign, user=account["manager"], now=WHEN)


def test_a_user_of_no_client_cannot_follow(account):
    ticket = _open(account, account["manager"])
    with pytest.raises(Exception, match="support right"):
        ticket_follow(ticket=ticket, user=UserFactory(), now=WHEN)


# The read right: read tickets, never write them ------------------------------------------


def test_a_reader_reads_but_cannot_open_reply_close_reopen_or_rate(client, account):
    ticket = _open(account, account["manager"])
    browser = _signed_in(client, account["reader"])
    page = browser.get(reverse("support:ticket", args=[ticket.pk])).content.decode()
    assert "It does not answer." in page
    assert reverse("support:reply", args=[ticket.pk]) not in page
    assert reverse("support:close", args=[ticket.pk]) not in page

    assert browser.get(reverse("support:ticket_create")).status_code == 403
    assert browser.post(reverse("support:ticket_create"), {
        "department": ticket.department_id, "priority": "normal", "subject": "x",
        "body": "y"}).status_code == 403
    assert browser.post(reverse("support:reply", args=[ticket.pk]),
                        {"body": "More."}).status_code == 403
    assert browser.post(reverse("support:close", args=[ticket.pk])).status_code == 403
    tickets.ticket_close(ticket=ticket, now=WHEN)
    assert browser.post(reverse("support:reopen", args=[ticket.pk])).status_code == 403
    assert browser.post(reverse("support:rate", args=[ticket.pk]),
                        {"rating": "1"}).status_code == 403
    ticket.refresh_from_db()
    assert (ticket.status, ticket.rating, ticket.messages.count()) == (
        TicketStatus.CLOSED, None, 1)
    assert Ticket.objects.count() == 1


def test_staff_see_who_a_reply_is_mailed_to(client, account):
    ticket = _open(account, account["manager"])
    ticket_follow(ticket=ticket, user=account["reader"], now=WHEN)
    member = StaffFactory()
    member.groups.add(department_sync(name="Technical support",
                                      codenames=DEFAULT_DEPARTMENTS["Technical support"]))
    client.force_login(member)
    page = client.get(reverse("admin:support_ticket_change", args=[ticket.pk])).content.decode()
    assert "dana@client.example, chris@client.example, robin@client.example" in page

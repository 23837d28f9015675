"""Collision: a staff answer is held back when the ticket moved on since its form was
opened; a double submit stores it once; who else has the ticket open."""

import re
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client as Browser
from django.urls import reverse

from accounts.models import Notification
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support import tickets
from support.collision import blocks
from support.models import MessageKind, TicketPresence
from support.presence import others_present, presence_record
from support.replies import staff_answer
from tests.factories.accounts import ClientUserFactory, StaffFactory
from tests.factories.support import WHEN, SupportDepartmentFactory


def _client_mail():
    # The mail to the client's own address (followers get theirs under longer keys).
    return Notification.objects.filter(event="ticket_answered", key__regex=r"^ticket_answered:\d+$")

CLIENT, STAFF, NOTE = MessageKind.CLIENT, MessageKind.STAFF, MessageKind.INTERNAL_NOTE


# --- the rule -------------------------------------------------------------------------

@pytest.mark.parametrize(("writing", "added_kind", "by_writer", "held_back"), [
    (STAFF, CLIENT, False, True),   # the client said more
    (STAFF, STAFF, False, True),    # a colleague answered already
    (STAFF, NOTE, False, True),     # a colleague's note ("I am on it")
    (STAFF, STAFF, True, False),    # my own reply from another tab
    (STAFF, NOTE, True, False),     # my own note
    (NOTE, CLIENT, False, False),   # notes never reach the client
    (NOTE, STAFF, False, False),
    (NOTE, NOTE, False, False),
])
def test_what_holds_an_answer_back(writing, added_kind, by_writer, held_back):
    assert blocks(writing=writing, added_kind=added_kind, added_by_writer=by_writer) \
        is held_back


# --- two members of staff on one ticket -----------------------------------------------

@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def team(db):
    group = department_sync(name="Technical support",
                            codenames=DEFAULT_DEPARTMENTS["Technical support"])
    people = []
    for name in ("Ann", "Ben"):
        person = StaffFactory(name=name, email=f"{name.lower()}@staff.example")
        person.groups.add(group)
        people.append(person)
    return people


@pytest.fixture
def ticket(team):
    owner = ClientUserFactory(owner=True)
    return tickets.ticket_open(client=owner.client, user=owner.user,
                               department=SupportDepartmentFactory(), subject="Site down",
                               body="It does not answer.", now=WHEN)


def _open(browser, ticket) -> dict:
    """The ticket's page; returns its answer form's hidden fields."""
    page = browser.get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    assert page.status_code == 200
    return _hidden(page.content.decode())


def _hidden(html: str) -> dict:
    return {name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)
            for name in ("seen_up_to", "token")}


def _send(browser, ticket, form: dict, body: str, kind: str = "staff"):
    return browser.post(reverse("admin:support_ticket_reply", args=[ticket.pk]),
                        {**form, "kind": kind, "body": body})


def _browsers(team):
    ann, ben = Browser(), Browser()
    ann.force_login(team[0])
    ben.force_login(team[1])
    return ann, ben


def test_the_second_answer_is_held_back_until_its_writer_has_seen_the_first(team, ticket):
    ann, ben = _browsers(team)
    ann_form, ben_form = _open(ann, ticket), _open(ben, ticket)

    assert _send(ann, ticket, ann_form, "Restarted nginx; try now.").status_code == 302
    held = _send(ben, ticket, ben_form, "Looking into it.")

    assert held.status_code == 409
    page = held.content.decode()
    notice = page[page.index('id="collision"'):page.index('id="reply-form"')]
    assert "Not sent: a new message arrived while you were writing." in notice
    assert "Restarted nginx; try now." in notice
    assert ">\nLooking into it.</textarea>" in page  # the text is kept
    assert list(ticket.messages.values_list("body_text", flat=True)) == [
        "It does not answer.", "Restarted nginx; try now."]
    assert _client_mail().count() == 1

    # Sent again from the form that came back: it goes, once.
    again = _hidden(page)
    assert again["token"] == ben_form["token"]
    assert int(again["seen_up_to"]) == ticket.messages.order_by("-id").first().pk
    assert _send(ben, ticket, again, "Looking into it.").status_code == 302
    assert ticket.messages.filter(author=team[1], kind=STAFF).count() == 1
    assert _client_mail().count() == 2


def test_a_client_reply_meanwhile_holds_an_answer_back(team, ticket):
    ann, _ben = _browsers(team)
    form = _open(ann, ticket)
    tickets.ticket_reply_client(ticket=ticket, user=ticket.opened_by,
                                body="Never mind, it works again.",
                                now=WHEN + timedelta(minutes=5))
    held = _send(ann, ticket, form, "Restarted nginx.")
    assert held.status_code == 409
    assert "Never mind, it works again." in held.content.decode()
    assert not ticket.messages.filter(kind=STAFF).exists()


def test_a_note_is_never_held_back(team, ticket):
    ann, ben = _browsers(team)
    ann_form, ben_form = _open(ann, ticket), _open(ben, ticket)
    assert _send(ann, ticket, ann_form, "Answered by phone.").status_code == 302
    assert _send(ben, ticket, ben_form, "Disk at 97%.", kind="internal_note").status_code \
        == 302
    assert ticket.messages.filter(kind=NOTE, author=team[1]).count() == 1


def test_my_own_messages_do_not_hold_me_back(team, ticket):
    ann, _ben = _browsers(team)
    first_tab, second_tab = _open(ann, ticket), _open(ann, ticket)
    assert _send(ann, ticket, first_tab, "Checking.", kind="internal_note").status_code == 302
    assert _send(ann, ticket, second_tab, "Fixed.").status_code == 302
    assert ticket.messages.count() == 3


def test_a_double_submit_stores_the_answer_once(team, ticket):
    ann, _ben = _browsers(team)
    form = _open(ann, ticket)
    assert _send(ann, ticket, form, "Fixed.").status_code == 302
    second = _send(ann, ticket, form, "Fixed.")
    assert second.status_code == 302
    assert ticket.messages.filter(kind=STAFF).count() == 1
    assert _client_mail().count() == 1
    followed = ann.get(second["Location"]).content.decode()
    assert "it was not sent twice" in followed


@pytest.mark.parametrize("form", [
    {},                                            # a form from before the check
    {"seen_up_to": "x", "token": uuid.uuid4().hex},
    {"seen_up_to": "-1", "token": uuid.uuid4().hex},
    {"seen_up_to": "99999999999999999999999", "token": uuid.uuid4().hex},
    {"seen_up_to": "1", "token": "<script>"},
])
def test_a_broken_form_changes_nothing(team, ticket, form):
    ann, _ben = _browsers(team)
    response = _send(ann, ticket, form, "Hello")
    assert response.status_code == 422
    assert "The form is out of date: open the ticket again." in response.content.decode()
    assert ticket.messages.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_answers_at_once_one_goes_one_is_held_back(team, ticket):
    """Both forms saw the same thread and are sent in the same instant: the ticket's lock
    orders them, so exactly one goes and the other comes back."""
    seen = ticket.messages.order_by("-id").first().pk
    results, barrier = {}, threading.Barrier(2)

    def answer(person):
        barrier.wait(timeout=30)
        try:
            results[person.name] = staff_answer(
                ticket=ticket, user=person, kind=STAFF, body=f"From {person.name}",
                seen_up_to=seen, token=uuid.uuid4().hex, now=WHEN)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(person,)) for person in team]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    sent = [name for name, result in results.items() if result.message is not None]
    held = [name for name, result in results.items() if result.held_back]
    assert (len(sent), len(held)) == (1, 1)
    assert ticket.messages.filter(kind=STAFF).count() == 1


# --- who else is here -----------------------------------------------------------------

def test_who_else_has_the_ticket_open(team, ticket):
    ann, ben = team
    presence_record(ticket=ticket, user=ann, replying=True, now=WHEN)
    presence_record(ticket=ticket, user=ben, replying=False, now=WHEN + timedelta(seconds=5))
    assert [(seen.user, seen.replying) for seen in
            others_present(ticket=ticket, user=ben, now=WHEN + timedelta(seconds=10))] \
        == [(ann, True)]
    assert list(others_present(ticket=ticket, user=ann, now=WHEN)) \
        == list(TicketPresence.objects.filter(user=ben))
    # Ann's tab closed: 30 s after her last poll she is gone, and her row with her.
    later = WHEN + timedelta(seconds=31)
    assert not others_present(ticket=ticket, user=ben, now=later).exists()
    presence_record(ticket=ticket, user=ben, replying=False, now=later)
    assert list(TicketPresence.objects.values_list("user", flat=True)) == [ben.pk]


def test_the_poll_says_who_is_writing(team, ticket, django_assert_max_num_queries):
    ann, ben = _browsers(team)
    url = reverse("admin:support_ticket_presence", args=[ticket.pk])
    assert ann.post(url, {"replying": "1"}, HTTP_HX_REQUEST="true").status_code == 200
    # Every open page polls every 10 s: a few queries, however many are looking.
    with django_assert_max_num_queries(10):
        seen_by_ben = ben.post(url, {"replying": "0"},
                               HTTP_HX_REQUEST="true").content.decode()
    assert "Also viewing" in seen_by_ben
    assert "Ann (replying…)" in seen_by_ben
    seen_by_ann = ann.get(url).content.decode()
    assert "Ben" in seen_by_ann
    assert "replying" not in seen_by_ann
    # The page itself shows it too, before its first poll.
    assert "Ann (replying…)" in ben.get(
        reverse("admin:support_ticket_change", args=[ticket.pk])).content.decode()
    assert TicketPresence.objects.count() == 2


def test_a_ticket_outside_my_departments_has_no_answer_form(team):
    stranger = ClientUserFactory(owner=True)
    other = tickets.ticket_open(
        client=stranger.client, user=stranger.user, subject="x", body="y", now=WHEN,
        department=SupportDepartmentFactory(slug="sales", name="Sales",
                                            staff_departments=["Sales"]))
    ann, _ben = _browsers(team)
    for name in ("support_ticket_presence", "support_ticket_answer_template"):
        assert ann.get(reverse(f"admin:{name}", args=[other.pk])).status_code == 404
    response = _send(ann, other, {"seen_up_to": "0", "token": uuid.uuid4().hex}, "Hi")
    assert response.status_code == 404
    assert other.messages.count() == 1

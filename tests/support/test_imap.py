"""E-mail in by IMAP against a real server (Debian's Dovecot, started by the tests): the
messages of the corpus appended to a mailbox come in once each, whatever the polls do."""

from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Access
from config.celery import app as celery_app
from support import mailboxes, tasks
from support.models import (
    InboundEmail,
    InboundOutcome,
    MailGateway,
    MailGatewayPoll,
    Ticket,
)
from tests.factories.accounts import ClientFactory, ClientUserFactory, UserFactory
from tests.factories.support import WHEN, MailGatewayFactory, SupportDepartmentFactory
from tests.support.dovecot import dovecot_server

pytestmark = pytest.mark.django_db

MAIL = Path(__file__).parent / "mail"
Out = InboundOutcome


@pytest.fixture(scope="module")
def dovecot():
    with dovecot_server() as server:
        yield server


@pytest.fixture
def dovecot_of_its_own():
    """For a test that fails a login: Dovecot slows the next logins from the address by
    seconds, which the other tests need not wait for."""
    with dovecot_server() as server:
        yield server


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def alice():
    client = ClientFactory()
    return ClientUserFactory(client=client, user=UserFactory(email="alice@client.example"),
                             owner=True, support_access=Access.MANAGE)


def _gateway_on(server):
    department = SupportDepartmentFactory(email="support@openbill.test")
    return MailGatewayFactory(department=department, host=server.host, port=server.port,
                              folder=server.new_folder())


@pytest.fixture
def gateway(dovecot, alice):
    return _gateway_on(dovecot)


def _corpus(name: str) -> bytes:
    # On the wire IMAP lines end in CRLF (imaplib's APPEND makes them so): the server
    # holds, and gives back, the message with CRLF.
    return (MAIL / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _poll(gateway) -> MailGatewayPoll:
    poll = mailboxes.gateway_poll(gateway_id=gateway.pk, now=WHEN, reason="test")
    gateway.refresh_from_db()
    return poll


FIRST = ["gmail_new_ticket.eml", "unknown_sender_new.eml", "bounce_null_sender.eml",
         "spam_flag.eml"]


def test_a_poll_takes_every_message_of_the_mailbox_through_the_one_way_in(dovecot, gateway):
    dovecot.append(gateway.folder, *[_corpus(name) for name in FIRST])

    poll = _poll(gateway)

    assert (poll.status, poll.fetched, poll.stored, poll.duplicates) == ("succeeded", 4, 4, 0)
    received = {row.message_id: row for row in InboundEmail.objects.all()}
    assert {row.outcome for row in received.values()} == {
        Out.TICKET_CREATED, Out.UNKNOWN_SENDER, Out.BOUNCE, Out.SPAM}
    assert {row.route for row in received.values()} == {"imap"}
    assert {row.department for row in received.values()} == {gateway.department}
    new = received["<CAGmailNew001@mail.gmail.com>"]
    assert bytes(new.raw) == _corpus("gmail_new_ticket.eml")  # byte for byte
    assert new.ticket.subject == "Cannot reach the control panel"
    assert new.ticket.department == gateway.department
    assert (gateway.last_uid, gateway.last_result, gateway.last_error) == (4, "ok", "")
    assert gateway.uidvalidity
    assert gateway.last_polled_at == WHEN


def test_polling_twice_takes_each_message_once_and_a_later_one_in_the_next_poll(
        dovecot, gateway):
    dovecot.append(gateway.folder, _corpus("gmail_new_ticket.eml"),
                   _corpus("unknown_sender_new.eml"))
    _poll(gateway)

    again = _poll(gateway)
    assert (again.fetched, again.stored) == (0, 0)
    assert InboundEmail.objects.count() == 2
    assert Ticket.objects.count() == 1

    dovecot.append(gateway.folder, _corpus("koi8r_body.eml"))
    later = _poll(gateway)

    assert (later.after_uid, later.fetched, later.stored) == (2, 1, 1)
    assert InboundEmail.objects.count() == 3
    assert Ticket.objects.count() == 2
    assert gateway.last_uid == 3


def test_messages_stay_on_the_server_flagged_as_read(dovecot, gateway):
    dovecot.append(gateway.folder, _corpus("gmail_new_ticket.eml"),
                   _corpus("unknown_sender_new.eml"))
    _poll(gateway)
    assert {uid: "\\Seen" in flags for uid, flags in dovecot.flags(gateway.folder).items()} \
        == {1: True, 2: True}


def test_a_gateway_may_leave_the_messages_unread(dovecot, gateway):
    MailGateway.objects.filter(pk=gateway.pk).update(mark_seen=False)
    dovecot.append(gateway.folder, _corpus("gmail_new_ticket.eml"))
    _poll(gateway)
    assert dovecot.flags(gateway.folder) == {1: ()}


def test_a_lost_uid_advance_fetches_again_and_stores_nothing_twice(dovecot, gateway):
    dovecot.append(gateway.folder, *[_corpus(name) for name in FIRST])
    _poll(gateway)
    # As after a crash between a message's store and its UID's advance (or a restore of
    # the database from a backup): the server's messages are fetched again.
    MailGateway.objects.filter(pk=gateway.pk).update(last_uid=0)

    again = _poll(gateway)

    assert (again.fetched, again.stored, again.duplicates) == (4, 0, 4)
    assert InboundEmail.objects.count() == 4
    assert Ticket.objects.count() == 1
    assert gateway.last_uid == 4


def test_a_new_uidvalidity_reads_the_whole_folder_again_taking_only_what_is_new(
        dovecot, gateway):
    dovecot.append(gateway.folder, _corpus("gmail_new_ticket.eml"),
                   _corpus("unknown_sender_new.eml"), _corpus("spam_flag.eml"))
    _poll(gateway)
    old_validity = gateway.uidvalidity
    # The server rebuilt the folder: its UIDs start again at 1, below the last one taken.
    dovecot.recreate(gateway.folder)
    dovecot.append(gateway.folder, _corpus("unknown_sender_new.eml"),
                   _corpus("gmail_new_ticket.eml"), _corpus("latin1_body.eml"))

    poll = _poll(gateway)

    assert gateway.uidvalidity != old_validity
    assert (poll.after_uid, poll.fetched, poll.stored, poll.duplicates) == (0, 3, 1, 2)
    assert "UIDVALIDITY" in poll.note
    assert InboundEmail.objects.count() == 4
    assert InboundEmail.objects.filter(subject="Problème de facturation").exists()
    assert gateway.last_uid == 3


def test_a_wrong_password_is_recorded_on_the_gateway_and_changes_nothing(
        dovecot_of_its_own, alice):
    gateway = _gateway_on(dovecot_of_its_own)
    dovecot_of_its_own.append(gateway.folder, _corpus("gmail_new_ticket.eml"))
    gateway.password = "not-the-password"
    gateway.save()

    poll = _poll(gateway)

    assert poll.status == "failed"
    assert gateway.last_result == "failed"
    assert "refused the user name or password" in gateway.last_error
    assert "not-the-password" not in gateway.last_error
    assert (gateway.last_uid, gateway.uidvalidity) == (0, None)
    assert not InboundEmail.objects.exists()


def test_a_server_that_does_not_answer_is_recorded(gateway):
    MailGateway.objects.filter(pk=gateway.pk).update(port=1)  # nothing listens there
    poll = _poll(gateway)
    assert poll.status == "failed"
    assert "Could not connect" in gateway.last_error


def test_a_mailbox_being_polled_elsewhere_is_skipped(dovecot, gateway):
    dovecot.append(gateway.folder, _corpus("gmail_new_ticket.eml"))
    params = connection.get_connection_params()
    other = psycopg.connect(**{key: value for key, value in params.items()
                               if key in ("host", "port", "user", "password", "dbname")})
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [mailboxes.LOCK_SPACE, gateway.pk])
        assert _poll(gateway) is None
        assert not MailGatewayPoll.objects.exists()
        assert not InboundEmail.objects.exists()
        # Released now, not when the server gets round to ending the closed session.
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [mailboxes.LOCK_SPACE, gateway.pk])
    finally:
        other.close()
    assert _poll(gateway).stored == 1  # released: the next poll takes it


def test_every_poll_is_written_down_with_what_it_fetched_and_why(dovecot, gateway):
    dovecot.append(gateway.folder, _corpus("gmail_new_ticket.eml"))
    _poll(gateway)
    poll = MailGatewayPoll.objects.get()
    assert (poll.kind, poll.reason, poll.after_uid, poll.fetched) == ("poll", "test", 0, 1)
    assert poll.uidvalidity == gateway.uidvalidity
    assert poll.duration_ms is not None


def test_the_beat_polls_every_enabled_gateway(dovecot, gateway, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    celery_app.conf.task_always_eager = True
    try:
        disabled = MailGatewayFactory(department=gateway.department, host=dovecot.host,
                                      port=dovecot.port, folder=dovecot.new_folder(),
                                      is_enabled=False)
        dovecot.append(gateway.folder, _corpus("gmail_new_ticket.eml"))
        dovecot.append(disabled.folder, _corpus("latin1_body.eml"))

        assert tasks.poll_mail_gateways() == 1
    finally:
        celery_app.conf.task_always_eager = False
    assert list(InboundEmail.objects.values_list("subject", flat=True)) == [
        "Cannot reach the control panel"]
    entry = celery_app.conf.beat_schedule["poll-mail-gateways"]
    assert entry["task"] == "support.tasks.poll_mail_gateways"


def test_operators_poll_from_the_command_line(dovecot_of_its_own, alice, capsys):
    gateway = _gateway_on(dovecot_of_its_own)
    dovecot_of_its_own.append(gateway.folder, _corpus("gmail_new_ticket.eml"))
    call_command("support_poll", "--gateway", str(gateway.pk))
    assert "fetched=1 stored=1" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No gateway"):
        call_command("support_poll", "--gateway", "999999")
    MailGateway.objects.filter(pk=gateway.pk).update(password="")
    with pytest.raises(CommandError, match="could not be polled"):
        call_command("support_poll")

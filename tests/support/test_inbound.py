"""E-mail in: the corpus in tests/support/mail/ through the pipe command, each file with the
outcome a support team expects of it."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from accounts.models import Access
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support import inbound, tickets
from support.addresses import reply_address
from support.models import (
    InboundEmail,
    InboundOutcome,
    Message,
    MessageKind,
    SupportDepartment,
    Ticket,
    TicketStatus,
)
from support.spam import spam_rules_default
from tests.factories.accounts import (
    ClientFactory,
    ClientUserFactory,
    StaffFactory,
    UserFactory,
)
from tests.factories.support import WHEN, MessageFactory, SupportDepartmentFactory, TicketFactory
from tests.notifications import notifications_deliver

pytestmark = pytest.mark.django_db

MAIL = Path(__file__).parent / "mail"
OPEN_NUMBER, CLOSED_NUMBER = 482913, 371204
STAFF_MSGID = "<staff-1@openbill.test>"
Out = InboundOutcome

# file: (outcome, where it lands, body contains, body excludes)
# where: "open" the open fixture ticket, "new" a new ticket, "linked" a new ticket linked to
# the closed fixture ticket, None no message at all.
CORPUS = {
    "gmail_reply_in_reply_to.eml": (Out.REPLY_ADDED, "open", "It works again", "We restarted"),
    "outlook_reply_token.eml": (Out.REPLY_ADDED, "open", "DNS records look wrong", "We restarted"),
    "apple_mail_reply.eml": (Out.REPLY_ADDED, "open", "Still slow", "We restarted"),
    "thunderbird_reply.eml": (Out.REPLY_ADDED, "open", "Which server", "We restarted"),
    "gmail_new_ticket.eml": (Out.TICKET_CREATED, "new", "control panel times out", None),
    "colleague_with_right_new.eml": (Out.TICKET_CREATED, "new", "backups", None),
    "colleague_without_right.eml": (Out.UNKNOWN_SENDER, None, None, None),
    "unknown_sender_new.eml": (Out.UNKNOWN_SENDER, None, None, None),
    "unknown_sender_reply.eml": (Out.UNKNOWN_SENDER, None, None, None),
    "other_client_user_reply.eml": (Out.UNKNOWN_SENDER, None, None, None),
    "subject_edited_token_kept.eml": (Out.REPLY_ADDED, "open", "mail is down", None),
    "subject_edited_token_lost_irt_kept.eml": (Out.REPLY_ADDED, "open", "Threaded by", None),
    "references_only.eml": (Out.REPLY_ADDED, "open", "through References", None),
    "in_reply_to_stripped_token_only.eml": (Out.REPLY_ADDED, "open", "strips In-Reply-To", None),
    "plus_address_only.eml": (Out.REPLY_ADDED, "open", "reply address only", None),
    "plus_address_forged.eml": (Out.TICKET_CREATED, "new", "forged signature", None),
    "unknown_token_new_ticket.eml": (Out.TICKET_CREATED, "new", "names no ticket", None),
    "forwarded_new_ticket.eml": (Out.TICKET_CREATED, "new", "expires soon", None),
    "koi8r_body.eml": (Out.TICKET_CREATED, "new", "сайт не открывается", None),
    "windows1251_body.eml": (Out.TICKET_CREATED, "new", "Прошу проверить счёт", None),
    "latin1_body.eml": (Out.TICKET_CREATED, "new", "février est erronée", None),
    "unknown_charset.eml": (Out.TICKET_CREATED, "new", "Plain words", None),
    "encoded_word_reply_token.eml": (Out.REPLY_ADDED, "open", "всё работает", None),
    "html_only_script.eml": (Out.TICKET_CREATED, "new", "help", "alert"),
    "inline_image.eml": (Out.TICKET_CREATED, "new", "See the screenshot", None),
    "exe_attachment.eml": (Out.TICKET_CREATED, "new", "tool.exe is not an allowed type", None),
    "png_renamed_exe.eml": (Out.TICKET_CREATED, "new", "cat.png is not an allowed type", None),
    "attachment_over_limit.eml": (Out.TICKET_CREATED, "new", "big.png is", None),
    "autoreply_auto_submitted.eml": (Out.AUTO_REPLY, None, None, None),
    "autoreply_auto_generated.eml": (Out.AUTO_REPLY, None, None, None),
    "autoreply_precedence_bulk.eml": (Out.AUTO_REPLY, None, None, None),
    "autoreply_precedence_junk.eml": (Out.AUTO_REPLY, None, None, None),
    "autoreply_precedence_list.eml": (Out.AUTO_REPLY, None, None, None),
    "autoreply_x_autoreply.eml": (Out.AUTO_REPLY, None, None, None),
    "autoreply_x_autorespond.eml": (Out.AUTO_REPLY, None, None, None),
    "auto_submitted_no.eml": (Out.REPLY_ADDED, "open", "Written by a person", None),
    "spam_flag.eml": (Out.SPAM, None, None, None),
    "bounce_null_sender.eml": (Out.BOUNCE, None, None, None),
    "bounce_mailer_daemon.eml": (Out.BOUNCE, None, None, None),
    "bounce_dsn.eml": (Out.BOUNCE, None, None, None),
    "malformed_mime.eml": (Out.TICKET_CREATED, "new", None, None),
    "no_message_id.eml": (Out.TICKET_CREATED, "new", "forget the Message-ID", None),
    "enormous_body.eml": (Out.TICKET_CREATED, "new", "START OF LOG", None),
    "reply_to_closed_late.eml": (Out.TICKET_CREATED, "linked", "old problem is back", None),
    "gmail_html_only_reply_blockquote.eml": (Out.REPLY_ADDED, "open", "Only HTML", "restarted"),
    "gmail_wrapped_attribution.eml": (Out.REPLY_ADDED, "open", "confirmed", "restarted"),
    "loop_from_our_own_address.eml": (Out.AUTO_REPLY, None, None, None),
}

ATTACHMENTS = {"inline_image.eml": 1, "exe_attachment.eml": 1, "png_renamed_exe.eml": 0,
               "attachment_over_limit.eml": 0}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def world():
    # The default spam rules every installation gets (migration 0004); a transactional
    # test elsewhere may have flushed them.
    spam_rules_default(now=WHEN)
    SupportDepartmentFactory(email="support@openbill.test")
    client = ClientFactory()
    ClientUserFactory(client=client, user=UserFactory(email="alice@client.example"),
                      owner=True)
    ClientUserFactory(client=client, user=UserFactory(email="bob@client.example"))
    ClientUserFactory(client=client, user=UserFactory(email="carol@client.example"),
                      support_access=Access.NONE)
    ClientUserFactory(user=UserFactory(email="dave@other.example"))
    ticket = TicketFactory(client=client, number=OPEN_NUMBER, subject="Site down",
                           status=TicketStatus.AWAITING_CLIENT)
    MessageFactory(ticket=ticket, message_id="<first@client.example>")
    MessageFactory(ticket=ticket, kind=MessageKind.STAFF, message_id=STAFF_MSGID,
                   created_at=WHEN + timedelta(hours=1))
    closed = TicketFactory(client=client, number=CLOSED_NUMBER, subject="Old problem",
                           status=TicketStatus.CLOSED, closed_at=WHEN)
    return {"open": ticket, "closed": closed}


def _raw(name: str, world) -> bytes:
    ticket = world["open"]
    values = {
        "{{token}}": ticket.subject_token,
        "{{token_q}}": f"=5B=23T-{ticket.number}=5D",
        "{{number}}": str(ticket.number),
        "{{staff_msgid}}": STAFF_MSGID,
        "{{plus}}": reply_address(ticket, "support@openbill.test"),
        "{{closed_token}}": world["closed"].subject_token,
    }
    raw = (MAIL / name).read_bytes()
    for placeholder, value in values.items():
        raw = raw.replace(placeholder.encode(), value.encode())
    return raw


class Stdin(io.TextIOWrapper):
    """Standard input as the MTA gives it: bytes underneath."""


def _pipe(raw: bytes, *args) -> str:
    out = io.StringIO()
    call_command("support_pipe", *args, stdin=Stdin(io.BytesIO(raw)), stdout=out)
    return out.getvalue()


def test_the_corpus_has_every_file_in_the_table():
    assert {path.name for path in MAIL.glob("*.eml")} == set(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_message_through_the_pipe(name, world, settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 2048
    outcome, where, contains, excludes = CORPUS[name]
    messages_before = Message.objects.count()
    raw = _raw(name, world)

    _pipe(raw)

    stored = InboundEmail.objects.get()
    assert bytes(stored.raw) == raw  # nothing received is lost, byte for byte
    assert stored.outcome == outcome, stored.error
    if where is None:
        assert stored.ticket_message is None
        assert Message.objects.count() == messages_before
        return
    message = stored.ticket_message
    assert message.kind == MessageKind.CLIENT
    assert message.ticket == stored.ticket
    if where == "open":
        assert message.ticket == world["open"]
        assert Ticket.objects.count() == 2
    elif where == "linked":
        assert message.ticket.linked_to == world["closed"]
    else:
        assert message.ticket not in (world["open"], world["closed"])
        assert message.ticket.client == world["open"].client
    if contains:
        assert contains in message.body_text
    if excludes:
        assert excludes not in message.body_text
        assert excludes not in message.body_html
    assert message.attachments.count() == ATTACHMENTS.get(name, 0)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_message_piped_twice_is_stored_once(name, world):
    raw = _raw(name, world)
    _pipe(raw)
    messages = Message.objects.count()

    second = _pipe(raw)

    assert InboundEmail.objects.count() == 1
    assert Message.objects.count() == messages
    assert second.strip().endswith("duplicate")


def test_encoded_and_foreign_subjects_are_decoded(world):
    _pipe(_raw("koi8r_body.eml", world))
    _pipe(_raw("latin1_body.eml", world))
    assert set(Ticket.objects.values_list("subject", flat=True)) >= {
        "Сайт не работает", "Problème de facturation"}


def test_a_script_never_reaches_the_stored_html(world):
    _pipe(_raw("html_only_script.eml", world))
    html = InboundEmail.objects.get().ticket_message.body_html
    for hostile in ("<script", "onclick", "onerror"):
        assert hostile not in html
    assert "<b>help</b>" in html


def test_an_enormous_body_is_cut_but_kept_whole_in_the_raw(world):
    raw = _raw("enormous_body.eml", world)
    _pipe(raw)
    stored = InboundEmail.objects.get()
    assert len(stored.ticket_message.body_text) <= inbound.MAX_BODY_CHARS
    assert len(bytes(stored.raw)) == len(raw) > inbound.MAX_BODY_CHARS


def test_the_pipe_stores_into_the_named_department(world):
    other = SupportDepartmentFactory(name="Sales", slug="sales")
    _pipe(_raw("gmail_new_ticket.eml", world), "--department", "sales")
    assert InboundEmail.objects.get().ticket.department == other


def test_a_reply_threads_the_ticket_back_to_awaiting_staff(world):
    _pipe(_raw("gmail_reply_in_reply_to.eml", world))
    world["open"].refresh_from_db()
    assert world["open"].status == TicketStatus.AWAITING_STAFF



def test_support_staff_list_unknown_senders_and_download_the_raw(client, world):
    raw = _raw("unknown_sender_new.eml", world)
    _pipe(raw)
    _pipe(_raw("gmail_new_ticket.eml", world))
    stranger = InboundEmail.objects.get(outcome=Out.UNKNOWN_SENDER)
    employee = StaffFactory()
    employee.groups.add(department_sync(name="Technical support",
                                        codenames=DEFAULT_DEPARTMENTS["Technical support"]))
    client.force_login(employee)

    listing = client.get(reverse("admin:support_inboundemail_changelist"),
                         {"outcome__exact": Out.UNKNOWN_SENDER})
    download = client.get(reverse("admin:support_inboundemail_raw", args=[stranger.pk]))

    assert listing.status_code == 200
    assert "stranger@elsewhere.example" in listing.text
    assert "alice@client.example" not in listing.text
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download.content == raw


def test_accounting_may_not_read_received_mail(client, world):
    _pipe(_raw("unknown_sender_new.eml", world))
    employee = StaffFactory()
    employee.groups.add(department_sync(name="Accounting",
                                        codenames=DEFAULT_DEPARTMENTS["Accounting"]))
    client.force_login(employee)
    received = InboundEmail.objects.get()
    assert client.get(reverse("admin:support_inboundemail_raw",
                              args=[received.pk])).status_code == 403
    assert client.get(reverse("admin:support_inboundemail_changelist")).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_staff_reply_is_mailed_in_the_thread_and_its_answer_threads_back(world):
    ticket = world["open"]
    ticket.department.email = "support@openbill.test"
    ticket.department.save()
    ticket.client.email = "alice@client.example"
    ticket.client.save()
    mail.outbox.clear()

    reply = tickets.ticket_reply_staff(ticket=ticket, user=StaffFactory(), body="Restarted.",
                                       now=WHEN + timedelta(hours=2))
    notifications_deliver()

    sent = mail.outbox[-1]
    assert sent.extra_headers["Message-ID"] == reply.message_id
    assert reply.message_id.endswith("@openbill.test>")
    assert sent.extra_headers["In-Reply-To"] == STAFF_MSGID
    assert sent.extra_headers["References"] == f"<first@client.example> {STAFF_MSGID}"
    assert sent.extra_headers["Reply-To"] == reply_address(ticket, "support@openbill.test")
    assert ticket.subject_token in sent.subject
    answer = (f"From: alice@client.example\r\nSubject: thanks\r\nMessage-ID: <thanks@x>\r\n"
              f"In-Reply-To: {reply.message_id}\r\n\r\nThanks!\r\n").encode()
    _pipe(answer)
    assert InboundEmail.objects.get().outcome == Out.REPLY_ADDED
    assert InboundEmail.objects.get().ticket == ticket


@settings_hypothesis(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=2000), header=st.text(max_size=200))
def test_hostile_input_is_always_stored_and_never_raises(junk, header, world):
    raw = (f"From: alice@client.example\r\nSubject: {header}\r\n".encode(
        "utf-8", errors="surrogateescape") + b"Content-Type: multipart/mixed; boundary=x\r\n"
           b"\r\n" + junk)
    receipt = inbound.receive(raw, route="pipe", now=WHEN)
    assert bytes(InboundEmail.objects.get(pk=receipt.inbound.pk).raw) == raw


def test_a_failure_while_processing_keeps_the_raw_with_the_reason(world):
    Ticket.objects.all().delete()
    Message.objects.all().delete()
    SupportDepartment.objects.all().delete()  # no department to open a ticket in
    raw = _raw("gmail_new_ticket.eml", world)
    assert _pipe(raw).strip().endswith("failed")
    stored = InboundEmail.objects.get()
    assert bytes(stored.raw) == raw
    assert stored.error
    assert stored.ticket is None

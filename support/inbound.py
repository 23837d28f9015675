"""E-mail in: every route (pipe today, IMAP later) hands the raw bytes to ``receive``.

The raw source is stored first, in its own transaction, so that nothing received is ever
lost; processing then decides what it becomes. Threading, in this order: In-Reply-To and
References against the Message-IDs we sent and received, the subject token ``[#T-123456]``,
a signed plus-address (support.addresses). A Message-ID is taken once.

The wall clock is never read here: callers pass ``now``.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html as html_lib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from accounts.models import Access, ClientUser, User
from accounts.rights import Area, access_allows, membership_access
from support import tickets
from support.addresses import PLUS_RE, signature_matches
from support.announcements import ticket_note_blocking
from support.attachments import attachment_check
from support.models import InboundEmail, InboundOutcome, Message, SupportDepartment, Ticket
from support.spam import spam_match, spam_rule_hit, spam_rules_active

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"\[#T-(\d{6})\]")
MSGID_RE = re.compile(r"<[^<>\s]+>")
REPLY_PREFIX_RE = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|отв|ответ)\s*:\s*)+", re.IGNORECASE)
MAX_BODY_CHARS = 100_000
NOISE_PRECEDENCE = {"bulk", "junk", "list"}
DAEMONS = {"mailer-daemon", "postmaster"}


@dataclass(frozen=True)
class Receipt:
    inbound: InboundEmail
    duplicate: bool


def _header(msg: EmailMessage, name: str) -> str:
    """A header as text; a malformed one is read raw rather than failing the message."""
    try:
        value = msg.get(name)
    except Exception:  # the email package raises many kinds on hostile headers
        value = None
        for key, raw in msg.raw_items():
            if key.lower() == name.lower():
                value = raw
                break
    return str(value or "").strip()


def _printable(value: str) -> str:
    # PostgreSQL text cannot hold NUL; a hostile header or body may.
    return value.replace("\x00", "")


def _message_id(msg: EmailMessage, raw: bytes) -> str:
    found = MSGID_RE.search(_printable(_header(msg, "Message-ID")))
    if found:
        return found.group(0)[:998]
    # Without one, the content names the message: the same bytes piped twice are one.
    return f"<{hashlib.sha256(raw).hexdigest()}@no-message-id.invalid>"


def _noise(msg: EmailMessage, sender: str) -> str | None:
    """The outcome for mail that must never open a ticket or trigger a reply."""
    return_path = _header(msg, "Return-Path")
    local = sender.partition("@")[0].lower()
    if return_path.replace(" ", "") == "<>" or local in DAEMONS or not sender:
        return InboundOutcome.BOUNCE
    if (msg.get_content_type() == "multipart/report"
            and "delivery-status" in _header(msg, "Content-Type").lower()):
        return InboundOutcome.BOUNCE
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return InboundOutcome.AUTO_REPLY
    if _header(msg, "Precedence").lower() in NOISE_PRECEDENCE:
        return InboundOutcome.AUTO_REPLY
    if _header(msg, "X-Autoreply") or _header(msg, "X-Autorespond"):
        return InboundOutcome.AUTO_REPLY
    return None


def _text_of(part: EmailMessage) -> str:
    try:
        return part.get_content()
    except Exception:  # unknown charset or broken transfer encoding: keep what decodes
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, errors="replace")
        except LookupError:
            return payload.decode("utf-8", errors="replace")


def _body(msg: EmailMessage) -> tuple[str, str, EmailMessage | None]:
    """(text, html, the part they came from); text/plain preferred."""
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        if not msg.is_multipart() and msg.get_content_maintype() == "text":
            part = msg
        else:
            return "", "", None
    content = _text_of(part)[:MAX_BODY_CHARS]
    if part.get_content_subtype() == "html":
        text = html_lib.unescape(nh3.clean(BLOCKQUOTE_RE.sub("\n", content), tags=set()))
        text = re.sub(r"[ \t]*\n\s*\n\s*", "\n\n", text).strip()
        return text, content, part
    return content, "", part


# Quoted history in HTML mail sits in blockquotes (Gmail, Apple Mail, Thunderbird).
BLOCKQUOTE_RE = re.compile(r"<blockquote\b.*?</blockquote\s*>", re.IGNORECASE | re.DOTALL)

QUOTE_HEADER_RE = re.compile(
    r"^\s*(On .{0,300}wrote:|-----\s*Original Message\s*-----|.{0,200}пишет:"
    r"|Le .{0,200}a écrit\s*:|Am .{0,200}schrieb .{0,200}:)\s*$",
    re.IGNORECASE)


def fold_quotes(text: str) -> str:
    """The new part of a reply: drops what follows an "On ... wrote:" (or Outlook's
    "Original Message") line and every ">" line. Our own rule, not a library's: see
    docs/decisions.md."""
    kept = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        # Gmail wraps a long "On ... wrote:" line in two.
        joined = f"{line} {lines[index + 1]}" if index + 1 < len(lines) else line
        if QUOTE_HEADER_RE.match(line) or (line.strip() and QUOTE_HEADER_RE.match(joined)):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def _attachments(msg: EmailMessage, body_part) -> tuple[list, list[str]]:
    """Uploads that pass the attachment checks, and a note for each one dropped."""
    kept, notes = [], []
    for part in msg.walk():
        if part.is_multipart() or part is body_part:
            continue
        if part.get_content_type() in ("message/delivery-status", "message/rfc822"):
            continue
        filename = part.get_filename()
        if part.get_content_maintype() == "text" and not filename:
            continue  # the other alternative of the body
        payload = part.get_payload(decode=True) or b""
        upload = SimpleUploadedFile(filename or "attachment", payload)
        if len(kept) >= settings.SUPPORT_ATTACHMENTS_PER_MESSAGE:
            notes.append(_("%(name)s was not attached: too many files.") % {"name": upload.name})
            continue
        try:
            attachment_check(upload)
        except ValidationError as error:
            notes.append(" ".join(error.messages))
            continue
        kept.append(upload)
    return kept, notes


def _ids(msg: EmailMessage) -> list[str]:
    return MSGID_RE.findall(f"{_header(msg, 'In-Reply-To')} {_header(msg, 'References')}")


def _thread(msg: EmailMessage, subject: str) -> Ticket | None:
    """The ticket the message continues; a merged ticket's mail goes to its target."""
    ticket = _threaded(msg, subject)
    return tickets.merged_target(ticket) if ticket is not None else None


def _threaded(msg: EmailMessage, subject: str) -> Ticket | None:
    ids = _ids(msg)
    if ids:
        message = (Message.objects.filter(message_id__in=ids).select_related("ticket")
                   .order_by("-created_at", "-id").first())
        if message is not None:
            return message.ticket
    token = TOKEN_RE.search(subject)
    if token:
        ticket = Ticket.objects.filter(number=int(token.group(1))).order_by("id").first()
        if ticket is not None:
            return ticket
    recipients = " ".join(f"<{address}>" for _name, address in getaddresses(
        [_header(msg, name) for name in ("To", "Cc", "Delivered-To", "X-Original-To")]))
    for number, signature in PLUS_RE.findall(recipients):
        for ticket in Ticket.objects.filter(number=int(number)):
            if signature_matches(ticket, signature):
                return ticket
    return None


def _writer(sender: str) -> ClientUser | None:
    """The sender's client membership when it carries the right to write tickets."""
    # lower(email) is the users' unique index; iexact (upper = upper) would scan them all,
    # 9 ms a message at 20,000 users (bench_support_pipe).
    user = User.objects.alias(email_ci=Lower("email")).filter(
        email_ci=sender.lower(), is_active=True).first()
    if user is None:
        return None
    membership = ClientUser.objects.filter(user=user).select_related("client", "user").first()
    if membership is None or not access_allows(membership_access(membership, Area.SUPPORT),
                                               Access.MANAGE):
        return None
    return membership


def ticket_subject(raw_subject: str) -> str:
    """A ticket's subject from a mail's: without our token and the Re:/Fwd: prefixes."""
    subject = TOKEN_RE.sub("", raw_subject)
    subject = REPLY_PREFIX_RE.sub("", subject).strip()
    return subject[:200] or _("(no subject)")


def _store(raw: bytes, msg: EmailMessage, *, route: str, department, now: datetime
           ) -> Receipt:
    message_id = _message_id(msg, raw)
    sender = _printable(parseaddr(_header(msg, "From"))[1])
    try:
        with transaction.atomic():
            inbound = InboundEmail.objects.create(
                raw=raw, message_id=message_id, sender=sender[:320],
                subject=_printable(_header(msg, "Subject"))[:300], received_at=now, route=route,
                department=department)
    except IntegrityError:
        return Receipt(InboundEmail.objects.get(message_id=message_id), duplicate=True)
    return Receipt(inbound, duplicate=False)


def receive(raw: bytes, *, route: str, department: SupportDepartment | None = None,
            now: datetime) -> Receipt:
    """Store the raw message (once per Message-ID), then make of it what it is."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    receipt = _store(raw, msg, route=route, department=department, now=now)
    if receipt.duplicate:
        return receipt
    inbound = receipt.inbound
    try:
        with transaction.atomic():
            _process(inbound, msg, department=department, now=now)
    except Exception as error:  # the raw is kept; staff see why it was not processed
        log.exception("Inbound e-mail %s could not be processed", inbound.pk)
        inbound.outcome, inbound.error = InboundOutcome.FAILED, f"{type(error).__name__}: {error}"
        inbound.ticket, inbound.ticket_message = None, None  # rolled back with the work
        inbound.spam_rule = None
    inbound.save(update_fields=["outcome", "ticket", "ticket_message", "error", "spam_rule"])
    return receipt


def _process(inbound: InboundEmail, msg: EmailMessage, *, department, now: datetime) -> None:
    noise = _noise(msg, inbound.sender)
    if noise is not None:
        inbound.outcome = noise
        return
    if SupportDepartment.objects.filter(email__iexact=inbound.sender).exclude(email="").exists():
        inbound.outcome = InboundOutcome.AUTO_REPLY  # our own mail came round: a loop
        return
    if Message.objects.filter(message_id=inbound.message_id).exists():
        inbound.outcome = InboundOutcome.DUPLICATE  # our own mail came back, or it was polled
        return
    rule = spam_match(msg, spam_rules_active())
    if rule is not None:  # kept with its raw; never a ticket, never a reply
        inbound.outcome, inbound.spam_rule = InboundOutcome.SPAM, rule
        spam_rule_hit(rule, now=now)
        return
    ticket = _thread(msg, inbound.subject)
    writer = _writer(inbound.sender)
    if writer is None or (ticket is not None and ticket.client_id != writer.client_id):
        inbound.outcome, inbound.ticket = InboundOutcome.UNKNOWN_SENDER, ticket
        return
    text, html, uploads = message_content(msg, reply=ticket is not None)
    if ticket is None:
        ticket = tickets.ticket_open(
            client=writer.client, user=writer.user,
            department=department or SupportDepartment.objects.order_by("position", "id")
            .first(), subject=ticket_subject(inbound.subject), body=text, html=html, now=now,
            attachments=uploads, message_id=inbound.message_id)
        inbound.outcome = InboundOutcome.TICKET_CREATED
    else:
        landed = tickets.ticket_reply_client(ticket=ticket, user=writer.user, body=text,
                                             html=html, now=now, attachments=uploads,
                                             message_id=inbound.message_id)
        inbound.outcome = (InboundOutcome.REPLY_ADDED if landed.pk == ticket.pk
                           else InboundOutcome.TICKET_CREATED)
        ticket = landed
    if inbound.outcome == InboundOutcome.TICKET_CREATED:
        # Mail cannot be refused like the form refuses: the ticket is opened and staff are
        # told which announcement covers it (support.announcements, docs/decisions.md).
        ticket_note_blocking(ticket=ticket, now=now)
    inbound.ticket = ticket
    inbound.ticket_message = ticket.messages.get(message_id=inbound.message_id)


def message_content(msg: EmailMessage, *, reply: bool) -> tuple[str, str, list]:
    """(text, sanitizable HTML, attachment uploads) of a received message as a ticket
    message takes it; a reply keeps only its new part. Staff decisions on the E-mail screen
    (support.triage) take a message the same way."""
    text, html, body_part = _body(msg)
    text, html = _printable(text), _printable(html)
    if reply:
        text = fold_quotes(text)
        html = ""  # the folded text is the reply; the quoted HTML would repeat the thread
    uploads, notes = _attachments(msg, body_part)
    if notes:
        text = "\n\n".join([text, *[f"[{note}]" for note in notes]]).strip()
    if not text and not html:
        text = _("(no text)")
    return text, html, uploads

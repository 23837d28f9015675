"""E-mail in by IMAP: each department's mailbox (a MailGateway) polled by the beat.

A poll takes the messages whose UID is greater than the last one taken, in UID order, and
hands each raw message to ``support.inbound.receive`` (the one way in, as the pipe does);
the last UID advances in the same transaction as the message's store, so a crash between
the two fetches the message again and ``receive`` finds its Message-ID taken. When the
folder's UIDVALIDITY changes (the server rebuilt its index), the old UIDs mean nothing:
the whole folder is read again and Message-IDs keep what was taken from being taken twice.
There is no look-back window by date: a poll missed for a week loses nothing.

Messages are never deleted on the server (optionally flagged \\Seen). Two beats never poll
one mailbox at once: a PostgreSQL advisory lock per gateway, tried without waiting.

Every connection is written ahead: a MailGatewayPoll row says what will be fetched and why
before the server is called, and is completed with what came of it.

The wall clock is never read here: callers pass ``now``.
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils.translation import gettext as _
from imap_tools import (
    AND,
    BaseMailBox,
    MailBox,
    MailBoxStartTls,
    MailBoxUnencrypted,
    MailMessage,
    MailMessageFlags,
    U,
)
from imap_tools.errors import MailboxLoginError

from support import inbound
from support.models import InboundEmail, MailGateway, MailGatewayPoll

log = logging.getLogger(__name__)

TIMEOUT_S = 30  # per socket operation: a hung server must not hold the worker
FETCH_BATCH = 50  # messages per FETCH command: bounded memory, few round trips
POLL_LIMIT = 500  # messages per poll; the next poll (a minute later) goes on from there
LOCK_SPACE = 0x53504F4C  # "SPOL": the advisory-lock namespace of mailbox polls
KEEP_QUIET_POLLS = timedelta(days=7)  # polls that took nothing and failed nothing


class RawMessage(MailMessage):
    """A fetched message that keeps its bytes exactly as the server sent them: the raw
    source is what is stored, never a re-serialisation."""

    def __init__(self, fetch_data: list) -> None:
        self.raw = self._get_message_data_parts(fetch_data)[0]
        super().__init__(fetch_data)


def _mailbox_class(gateway: MailGateway) -> BaseMailBox:
    kind = {MailGateway.Security.SSL: MailBox, MailGateway.Security.STARTTLS: MailBoxStartTls,
            MailGateway.Security.NONE: MailBoxUnencrypted}[gateway.security]
    if kind is MailBoxUnencrypted:
        box = kind(gateway.host, gateway.port, timeout=TIMEOUT_S)
    else:
        box = kind(gateway.host, gateway.port, timeout=TIMEOUT_S,
                   ssl_context=ssl.create_default_context())
    box.email_message_class = RawMessage
    return box


@contextmanager
def _connected(gateway: MailGateway) -> Iterator[BaseMailBox]:
    box = _mailbox_class(gateway)  # connects
    try:
        box.login(gateway.username, gateway.password, initial_folder=gateway.folder)
        yield box
    finally:
        try:
            box.logout()
        except Exception:  # the server may be gone already; we are done with it anyway
            log.debug("IMAP logout of %s failed", gateway.pk, exc_info=True)


def error_text(error: BaseException) -> str:
    """What went wrong, in words for staff (never the password: servers do not echo it)."""
    if isinstance(error, MailboxLoginError):
        return _("The server refused the user name or password.")
    if isinstance(error, ssl.SSLError | ssl.CertificateError):
        return _("The secure connection failed: %(error)s") % {"error": error}
    if isinstance(error, socket.timeout | TimeoutError):
        return _("The server did not answer in time.")
    if isinstance(error, OSError):
        return _("Could not connect to the server: %(error)s") % {"error": error}
    if isinstance(error, imaplib.IMAP4.error):
        return _("The server answered with an error: %(error)s") % {"error": error}
    return f"{type(error).__name__}: {error}"


@contextmanager
def _poll_lock(gateway_id: int) -> Iterator[bool]:
    """True when this process may poll the mailbox; False when another one is at it.
    A session lock, not a transaction's: each message commits on its own while it is held,
    and a dead worker's connection releases it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_SPACE, gateway_id])
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, gateway_id])


def _uidvalidity(box: BaseMailBox, folder: str) -> int:
    """The selected folder's UIDVALIDITY, as its SELECT answered (RFC 3501 asks clients not
    to STATUS the selected folder; a server that did not say it is asked that way)."""
    _code, data = box.client.response("UIDVALIDITY")
    if data and data[-1]:
        return int(data[-1])
    return box.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"]


def _new_uids(box: BaseMailBox, after: int) -> list[int]:
    # "n:*" always names the newest message even when its UID is below n (RFC 3501 6.4.8),
    # so the list is filtered here as well.
    found = (int(uid) for uid in box.uids(AND(uid=U(after + 1, "*"))))
    return sorted(uid for uid in found if uid > after)[:POLL_LIMIT]


def _take(box: BaseMailBox, gateway: MailGateway, poll: MailGatewayPoll, *,
          now: datetime) -> None:
    validity = _uidvalidity(box, gateway.folder)
    if validity != gateway.uidvalidity:
        if gateway.uidvalidity is not None:
            poll.note = _("UIDVALIDITY changed from %(old)s to %(new)s: the whole folder is "
                          "read again; messages taken before are recognised by their "
                          "Message-ID.") % {"old": gateway.uidvalidity, "new": validity}
        gateway.uidvalidity, gateway.last_uid = validity, 0
        MailGateway.objects.filter(pk=gateway.pk).update(uidvalidity=validity, last_uid=0)
    uids = _new_uids(box, gateway.last_uid)
    poll.uidvalidity, poll.after_uid = validity, gateway.last_uid
    poll.save(update_fields=["uidvalidity", "after_uid", "note"])
    for start in range(0, len(uids), FETCH_BATCH):
        batch = [str(uid) for uid in uids[start:start + FETCH_BATCH]]
        fetched = sorted(box.fetch(uid_list=batch, mark_seen=False, bulk=True),
                         key=lambda message: int(message.uid))
        for message in fetched:
            uid = int(message.uid)
            with transaction.atomic():
                receipt = inbound.receive(message.raw, route=InboundEmail.Route.IMAP,
                                          department=gateway.department, now=now)
                MailGateway.objects.filter(pk=gateway.pk, last_uid__lt=uid).update(
                    last_uid=uid)
            gateway.last_uid = max(gateway.last_uid, uid)
            poll.fetched += 1
            if receipt.duplicate:
                poll.duplicates += 1
            else:
                poll.stored += 1
        if gateway.mark_seen and fetched:
            box.flag([message.uid for message in fetched], MailMessageFlags.SEEN, True)


def _finish(poll: MailGatewayPoll, *, started: float, error: BaseException | None) -> None:
    poll.status = MailGatewayPoll.Status.FAILED if error else MailGatewayPoll.Status.SUCCEEDED
    poll.error = error_text(error) if error else ""
    poll.duration_ms = int((time.monotonic() - started) * 1000)
    poll.save(update_fields=["status", "error", "duration_ms", "fetched", "stored",
                             "duplicates"])


def gateway_poll(*, gateway_id: int, now: datetime, reason: str) -> MailGatewayPoll | None:
    """Take the new messages of one mailbox; None when another process is polling it (or
    the gateway is gone)."""
    with _poll_lock(gateway_id) as locked:
        if not locked:
            return None
        gateway = MailGateway.objects.select_related("department").filter(
            pk=gateway_id).first()
        if gateway is None:  # deleted since the beat listed it
            return None
        poll = MailGatewayPoll.objects.create(
            gateway=gateway, kind=MailGatewayPoll.Kind.POLL, reason=reason[:200],
            started_at=now, uidvalidity=gateway.uidvalidity, after_uid=gateway.last_uid)
        started, failure = time.monotonic(), None
        try:
            with _connected(gateway) as box:
                _take(box, gateway, poll, now=now)
        except Exception as error:  # recorded for staff; the next poll tries again
            log.warning("Polling mail gateway %s failed: %s", gateway.pk, error)
            failure = error
        _finish(poll, started=started, error=failure)
        MailGateway.objects.filter(pk=gateway.pk).update(
            last_polled_at=now, last_error=poll.error,
            last_result=MailGateway.Result.FAILED if failure else MailGateway.Result.OK)
        return poll


def gateway_test(*, gateway: MailGateway, now: datetime, reason: str) -> MailGatewayPoll:
    """Sign in and look at the folder, taking nothing: what staff see after changing a
    gateway's settings."""
    poll = MailGatewayPoll.objects.create(
        gateway=gateway, kind=MailGatewayPoll.Kind.TEST, reason=reason[:200], started_at=now,
        uidvalidity=gateway.uidvalidity, after_uid=gateway.last_uid)
    started, failure = time.monotonic(), None
    try:
        with _connected(gateway) as box:
            status = box.folder.status(gateway.folder, ["MESSAGES", "UIDVALIDITY"])
    except Exception as error:
        failure = error
    else:
        poll.note = _("%(count)s message(s) in %(folder)s.") % {
            "count": status.get("MESSAGES", 0), "folder": gateway.folder}
        poll.save(update_fields=["note"])
    _finish(poll, started=started, error=failure)
    return poll


def enabled_gateway_ids() -> list[int]:
    return list(MailGateway.objects.filter(is_enabled=True).order_by("pk")
                .values_list("pk", flat=True))


def quiet_polls_prune(*, now: datetime) -> int:
    """Forget polls that took nothing and failed nothing after a week: one a minute per
    mailbox would otherwise grow without end. Polls that took mail or failed stay."""
    deleted, _by_model = MailGatewayPoll.objects.filter(
        kind=MailGatewayPoll.Kind.POLL, status=MailGatewayPoll.Status.SUCCEEDED, fetched=0,
        started_at__lt=now - KEEP_QUIET_POLLS).delete()
    return deleted

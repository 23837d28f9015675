"""E-mail to staff about tickets, written ahead and sent by a worker.

``staff_notify`` writes one row per recipient in the caller's transaction (the row says
what will be sent to whom and why; its key is unique, so the same event written twice is
one row) and, after commit, hands the new rows to a Celery task. The web process never
talks to the mail server. The worker claims a row for a while before sending, so the task
and the beat's sweep never both send it; a failure gives the row back as pending with its
error and the number of tries, and the sweep tries again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import User
from support.models import Message, MessageKind, StaffEvent, StaffMail, Ticket
from support.notifications import new_message_id, thread_headers
from support.subscriptions import department_subscribers, wants

log = logging.getLogger(__name__)

SEND_STAFF_MAIL = "support.tasks.send_staff_mail"
CLAIM_SECONDS = 300  # far longer than one mail takes; a dead sender's rows wait this long
MAX_ATTEMPTS = 20  # a minute apart by the sweep: a mail server down for a while is ridden out
SWEEP_BATCH = 500


def staff_notify(ticket: Ticket, event: str, message: Message | None = None, *,
                 now: datetime, actor: User | None = None, occasion: str | None = None,
                 detail: str = "") -> list[StaffMail]:
    """Write the e-mails that tell the department's staff about ``event`` on ``ticket``
    (their subscriptions decide who), to be sent after commit. Call it inside the
    transaction that makes the event, with the moment it happened: the key is the event,
    the ``occasion`` (by default the message or, without one, the ticket and ``now``) and
    the recipient, so writing the same event again writes nothing; a caller whose events
    may share a ticket and a moment names its own occasion. ``actor`` (who caused it) is
    not told. ``detail`` is said in the mail above the client's words.
    Returns the rows written now."""
    if event not in StaffEvent.values:
        raise ValueError(f"Unknown staff event {event!r}.")
    recipients = [user for user, level in department_subscribers(ticket.department)
                  if wants(level=level, event=event, is_assignee=user.pk == ticket.assignee_id)
                  and user.email and (actor is None or user.pk != actor.pk)]
    if not recipients:
        return []
    if occasion is None:
        occasion = str(message.pk) if message is not None else f"t{ticket.pk}@{now.isoformat()}"
    headers = _headers(ticket, message)
    subject, body = _texts(ticket, event, message, detail=detail)
    keys = {user.pk: f"{event}:{occasion}:{user.pk}"[:200] for user in recipients}
    known = set(StaffMail.objects.filter(key__in=keys.values()).values_list("key", flat=True))
    StaffMail.objects.bulk_create(
        [StaffMail(recipient=user, ticket=ticket, message=message, event=event,
                   key=keys[user.pk], email=user.email, subject=subject, body=body,
                   created_at=now,
                   headers={**headers, "Message-ID": new_message_id(ticket.department)})
         for user in recipients if keys[user.pk] not in known],
        ignore_conflicts=True)  # a concurrent writer of the same event: its row stands
    written = list(StaffMail.objects.filter(key__in=set(keys.values()) - known)
                   .order_by("pk"))
    ids = [row.pk for row in written]
    if ids:
        transaction.on_commit(lambda: current_app.send_task(SEND_STAFF_MAIL, (ids,)))
    return written


def _headers(ticket: Ticket, message: Message | None) -> dict[str, str]:
    """The thread of the client's mail (its References), so that staff's mail programs
    keep a ticket together; never the client's reply address: staff answer in the panel."""
    thread = message or ticket.messages.exclude(kind=MessageKind.INTERNAL_NOTE).last()
    headers = thread_headers(thread) if thread is not None else {}
    references = headers.get("References", "").split()
    if thread is not None and thread.message_id:
        references.append(thread.message_id)
    kept = {"Auto-Submitted": "auto-generated"}  # a staff mail that comes back is no ticket
    if references:
        kept["In-Reply-To"] = references[-1]
        kept["References"] = " ".join(references[-20:])
    return kept


WHAT = {
    StaffEvent.NEW_TICKET: lambda: _("new ticket"),
    StaffEvent.CLIENT_REPLY: lambda: _("client replied"),
    StaffEvent.ASSIGNED: lambda: _("assigned to you"),
    StaffEvent.SLA_BREACH: lambda: _("SLA target at risk or missed"),
}


def staff_ticket_url(ticket: Ticket) -> str:
    return settings.SITE_URL + reverse("admin:support_ticket_change", args=[ticket.pk])


def _texts(ticket: Ticket, event: str, message: Message | None, *,
           detail: str) -> tuple[str, str]:
    what = WHAT[event]()
    subject = f"{ticket.subject_token} {ticket.subject}: {what}"[:200]
    body = render_to_string("support/email/staff_notification.txt", {
        "ticket": ticket, "what": what, "event": event, "detail": detail,
        "url": staff_ticket_url(ticket),
        "subscriptions_url": settings.SITE_URL
        + reverse("admin:support_staffmail_subscriptions"),
        # The client's own words; an internal note is staff's and could be written here
        # only by a caller's mistake, which this keeps out of any mail.
        "body": message.body_text if message is not None
        and message.kind != MessageKind.INTERNAL_NOTE else "",
        "site_name": settings.SITE_NAME})
    return subject, body


def _claim(mail_id: int, *, now: datetime) -> bool:
    return bool(StaffMail.objects.filter(pk=mail_id).filter(
        Q(status=StaffMail.Status.PENDING)
        | Q(status=StaffMail.Status.SENDING, claimed_until__lt=now)).update(
        status=StaffMail.Status.SENDING, attempts=F("attempts") + 1,
        claimed_until=now + timedelta(seconds=CLAIM_SECONDS)))


def staff_mail_send_one(mail_id: int, *, now: datetime) -> bool:
    """Send one row unless another sender has it or it went out; True when sent. A mail
    server's refusal is raised after the row is given back with the error."""
    if not _claim(mail_id, now=now):
        return False
    mail = StaffMail.objects.select_related("recipient", "ticket__department").get(pk=mail_id)
    if not (mail.recipient.is_active and mail.recipient.is_staff):
        StaffMail.objects.filter(pk=mail_id).update(
            status=StaffMail.Status.CANCELLED, claimed_until=None,
            error="The recipient is no longer an active member of staff.")
        return False
    try:
        EmailMessage(subject=mail.subject, body=mail.body, to=[mail.email],
                     from_email=mail.ticket.department.email or None,
                     headers=mail.headers or None).send()
    except Exception as error:
        given_up = mail.attempts >= MAX_ATTEMPTS
        StaffMail.objects.filter(pk=mail_id).update(
            status=StaffMail.Status.FAILED if given_up else StaffMail.Status.PENDING,
            claimed_until=None, error=f"{type(error).__name__}: {error}"[:2000])
        raise
    StaffMail.objects.filter(pk=mail_id).update(status=StaffMail.Status.SENT, sent_at=now,
                                                claimed_until=None, error="")
    return True


def staff_mail_send(ids: list[int], *, now: datetime) -> int:
    """Send the rows among ``ids`` that are still to send; returns how many went out. The
    first failure stops the batch (the mail server is likely down): the sweep retries."""
    sent = 0
    for mail_id in ids:
        try:
            sent += staff_mail_send_one(mail_id, now=now)
        except Exception:
            log.exception("Staff e-mail %s was not sent; the sweep will try again", mail_id)
            break
    return sent


def staff_mail_send_pending(*, now: datetime, older_than: timedelta) -> int:
    """The beat's sweep: rows written before ``now - older_than`` and still pending (their
    task was lost, or the mail server refused), and rows whose sender died. The least
    tried go first, so that one address the server always refuses holds up nobody."""
    ids = list(StaffMail.objects.filter(
        Q(status=StaffMail.Status.PENDING, created_at__lt=now - older_than)
        | Q(status=StaffMail.Status.SENDING, claimed_until__lt=now))
        .order_by("attempts", "pk").values_list("pk", flat=True)[:SWEEP_BATCH])
    return staff_mail_send(ids, now=now)

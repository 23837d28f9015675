"""Writes on tickets: open, reply (client, staff), note, close, re-open, rate.

The status says who is waiting. The rules, in one place:

==================  ==========================  ==============================================
who                 from                        to
==================  ==========================  ==============================================
client replies      new                         new (nobody has answered yet)
client replies      any other open status       awaiting staff
client replies      closed, within the window   awaiting staff (re-opened)
client replies      closed, after the window    a new linked ticket (new); the old stays closed
staff replies       any                         awaiting client
staff note          any                         unchanged (the client never sees it)
==================  ==========================  ==============================================

The wall clock is never read here: callers pass ``now``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Client, User
from services.models import Service
from support import notifications, sla
from support.attachments import attachment_check, stored_name
from support.followers import follow_on_open
from support.models import (
    Attachment,
    Category,
    Message,
    MessageKind,
    Priority,
    StaffEvent,
    SupportDepartment,
    Ticket,
    TicketStatus,
)
from support.sanitize import html_clean
from support.staff_mail import staff_notify

NUMBER_LOW, NUMBER_HIGH = 100000, 999999
NUMBER_TRIES = 50


def reply_status(*, status: str, reopen_allowed: bool, by_staff: bool) -> str | None:
    """The status after a reply, or None when a client's late reply must open a new ticket."""
    if by_staff:
        return TicketStatus.AWAITING_CLIENT
    if status == TicketStatus.NEW:
        return TicketStatus.NEW
    if status == TicketStatus.CLOSED and not reopen_allowed:
        return None
    return TicketStatus.AWAITING_STAFF


def reopen_allowed(ticket: Ticket, *, now: datetime) -> bool:
    if not ticket.is_closed or ticket.closed_at is None:
        return True
    if ticket.archived_at is not None:
        return False  # the archive is final: a late reply opens a new linked ticket
    return now - ticket.closed_at <= timedelta(days=ticket.department.reopen_days)


def _new_number() -> int:
    return NUMBER_LOW + secrets.randbelow(NUMBER_HIGH - NUMBER_LOW + 1)


def _ticket_create(**fields) -> Ticket:
    """Insert with a random number; a collision (the number is unique per provider) draws
    again inside a savepoint, so the caller's transaction survives it."""
    for _attempt in range(NUMBER_TRIES):
        try:
            with transaction.atomic():
                return Ticket.objects.create(number=_new_number(), **fields)
        except IntegrityError as error:
            if "ticket_number_unique" not in str(error):
                raise
    raise RuntimeError("No free ticket number after many tries.")


def _check_service(*, client: Client, service: Service | None) -> None:
    if service is not None and service.client_id != client.pk:
        raise ValidationError(_("Choose one of your own services."), code="foreign_service")


def _safe_name(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:255] or "attachment"


def _attach(message: Message, uploads: Iterable) -> None:
    for upload in uploads:
        content_type = attachment_check(upload)
        attachment = Attachment(message=message, stored_name=stored_name(),
                                original_name=_safe_name(upload.name), size=upload.size,
                                content_type=content_type)
        attachment.file.save(attachment.stored_name, upload, save=False)
        attachment.save()


def _message_add(*, ticket: Ticket, author: User | None, kind: str, body: str, now: datetime,
                 html: str = "", attachments: Iterable = (),
                 message_id: str | None = None, idempotency_key: str | None = None) -> Message:
    message = Message.objects.create(ticket=ticket, author=author, kind=kind,
                                     body_text=body.strip(),
                                     body_html=html_clean(html) if html else "",
                                     created_at=now, message_id=message_id,
                                     idempotency_key=idempotency_key)
    _attach(message, attachments)
    return message


@transaction.atomic
def ticket_open(*, client: Client, user: User | None, department: SupportDepartment,
                subject: str, body: str, now: datetime, category: Category | None = None,
                priority: str = Priority.NORMAL, service: Service | None = None,
                html: str = "", attachments: Iterable = (),
                linked_to: Ticket | None = None, message_id: str | None = None) -> Ticket:
    _check_service(client=client, service=service)
    if not subject.strip() or not (body.strip() or html.strip()):
        raise ValidationError(_("A ticket needs a subject and a message."), code="empty")
    ticket = _ticket_create(
        provider_id=client.provider_id, client=client, opened_by=user, department=department,
        category=category, priority=priority, service=service, subject=subject.strip()[:200],
        status=TicketStatus.NEW, created_at=now, updated_at=now, linked_to=linked_to)
    ticket.save(update_fields=sla.sla_track(ticket, now=now))
    message = _message_add(ticket=ticket, author=user, kind=MessageKind.CLIENT, body=body,
                           html=html, now=now, attachments=attachments, message_id=message_id)
    follow_on_open(ticket=ticket, user=user, now=now)
    staff_notify(ticket, StaffEvent.NEW_TICKET, message, now=now)
    return ticket


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().select_related("department").get(pk=ticket.pk)


@transaction.atomic
def ticket_reply_client(*, ticket: Ticket, user: User | None, body: str, now: datetime,
                        html: str = "", attachments: Iterable = (),
                        message_id: str | None = None) -> Ticket:
    """The client's reply; returns the ticket it landed in (a new linked one when the
    closed ticket's re-open window has passed)."""
    ticket = _locked(merged_target(ticket))
    status = reply_status(status=ticket.status, by_staff=False,
                          reopen_allowed=reopen_allowed(ticket, now=now))
    if status is None:
        return ticket_open(client=ticket.client, user=user, department=ticket.department,
                           category=ticket.category, priority=ticket.priority,
                           service=ticket.service, subject=ticket.subject, body=body,
                           html=html, now=now, attachments=attachments, linked_to=ticket,
                           message_id=message_id)
    message = _message_add(ticket=ticket, author=user, kind=MessageKind.CLIENT, body=body,
                           html=html, now=now, attachments=attachments, message_id=message_id)
    ticket.status, ticket.updated_at, ticket.closed_at = status, now, None
    ticket.save(update_fields=["status", "updated_at", "closed_at",
                               *sla.sla_track(ticket, now=now)])
    staff_notify(ticket, StaffEvent.CLIENT_REPLY, message, now=now)
    return ticket


@transaction.atomic
def ticket_reply_staff(*, ticket: Ticket, user: User, body: str, now: datetime,
                       html: str = "", attachments: Iterable = (),
                       idempotency_key: str | None = None) -> Message:
    ticket = _locked(merged_target(ticket))  # a merged ticket's answer goes to its target
    message = _message_add(ticket=ticket, author=user, kind=MessageKind.STAFF, body=body,
                           html=html, now=now, attachments=attachments,
                           message_id=notifications.new_message_id(ticket.department),
                           idempotency_key=idempotency_key)
    ticket.status = reply_status(status=ticket.status, by_staff=True, reopen_allowed=True)
    ticket.updated_at, ticket.closed_at = now, None
    if ticket.assignee_id is None:
        ticket.assignee = user  # who answers first takes it, unless someone was assigned
    ticket.awaiting_client_since = now  # each staff reply gives the client their full time
    ticket.save(update_fields=["status", "updated_at", "closed_at", "assignee",
                               *sla.sla_track(ticket, now=now, responder=user)])
    notifications.client_notify_answered(message)
    return message


@transaction.atomic
def ticket_note(*, ticket: Ticket, user: User, body: str, now: datetime,
                attachments: Iterable = (), idempotency_key: str | None = None) -> Message:
    return _message_add(ticket=ticket, author=user, kind=MessageKind.INTERNAL_NOTE, body=body,
                        now=now, attachments=attachments, idempotency_key=idempotency_key)


@transaction.atomic
def ticket_close(*, ticket: Ticket, now: datetime) -> Ticket:
    ticket = _locked(ticket)
    if ticket.is_closed:
        return ticket
    ticket.status, ticket.closed_at, ticket.updated_at = TicketStatus.CLOSED, now, now
    ticket.save(update_fields=["status", "closed_at", "updated_at",
                               *sla.sla_track(ticket, now=now)])
    return ticket


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, now: datetime) -> Ticket:
    ticket = _locked(ticket)
    if not ticket.is_closed:
        return ticket
    if ticket.merged_into_id is not None:
        raise ValidationError(
            _("This ticket was merged into %(number)s; continue there.")
            % {"number": merged_target(ticket).display_number}, code="merged")
    if not reopen_allowed(ticket, now=now):
        raise ValidationError(
            _("This ticket was closed more than %(days)s days ago; open a new one.")
            % {"days": ticket.department.reopen_days}, code="too_late")
    ticket.status, ticket.closed_at, ticket.updated_at = TicketStatus.AWAITING_STAFF, None, now
    ticket.rating, ticket.rating_comment = None, ""
    ticket.save(update_fields=["status", "closed_at", "updated_at", "rating", "rating_comment",
                               *sla.sla_track(ticket, now=now)])
    return ticket


@transaction.atomic
def ticket_rate(*, ticket: Ticket, rating: int, comment: str = "") -> Ticket:
    ticket = _locked(ticket)
    if not ticket.is_closed:
        raise ValidationError(_("Only a closed ticket can be rated."), code="open")
    if not 1 <= int(rating) <= 5:
        raise ValidationError(_("Rate from 1 to 5."), code="range")
    ticket.rating, ticket.rating_comment = int(rating), comment.strip()[:2000]
    ticket.save(update_fields=["rating", "rating_comment"])
    return ticket


# Queue (issue 14) -------------------------------------------------------------------------
MERGE_CHAIN_LIMIT = 20


def merged_target(ticket: Ticket) -> Ticket:
    """Where a reply to ``ticket`` lands: the ticket its thread was merged into, followed
    to the end (a merged ticket's target may itself have been merged later)."""
    seen = {ticket.pk}
    # Read from the table: the caller's instance may predate the merge.
    next_id = Ticket.objects.filter(pk=ticket.pk).values_list("merged_into_id", flat=True) \
        .first()
    while next_id is not None and next_id not in seen and len(seen) <= MERGE_CHAIN_LIMIT:
        ticket = Ticket.objects.select_related("department").get(pk=next_id)
        seen.add(ticket.pk)
        next_id = ticket.merged_into_id
    return ticket

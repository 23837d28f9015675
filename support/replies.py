"""A staff member's answer from the ticket page: a reply to the client or an internal note,
sent once however often the form is submitted, and held back when the ticket moved on since
the form was opened (support.collision).

The wall clock is never read here: callers pass ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from accounts.models import User
from support import tickets
from support.collision import collisions
from support.models import Message, MessageKind, Ticket


@dataclass(frozen=True)
class Answer:
    """What became of an answer: ``message`` stored (``duplicate`` when an earlier submit
    of the same form stored it), or ``held_back`` by these newer messages."""

    message: Message | None = None
    duplicate: bool = False
    held_back: list[Message] = field(default_factory=list)


@transaction.atomic
def staff_answer(*, ticket: Ticket, user: User, kind: str, body: str, seen_up_to: int,
                 token: str, now: datetime, attachments: Iterable = ()) -> Answer:
    # The ticket's row lock orders this against every other reply to it (client replies
    # and staff replies lock it too), so the check below and the write see the same thread.
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    earlier = Message.objects.filter(ticket=ticket, idempotency_key=token).first()
    if earlier is not None:
        return Answer(message=earlier, duplicate=True)
    newer = collisions(ticket=ticket, writer_id=user.pk, writing=kind, seen_up_to=seen_up_to)
    if newer:
        return Answer(held_back=newer)
    write = tickets.ticket_note if kind == MessageKind.INTERNAL_NOTE \
        else tickets.ticket_reply_staff
    message = write(ticket=ticket, user=user, body=body, now=now, attachments=attachments,
                    idempotency_key=token)
    return Answer(message=message)

"""Celery entry points of the support center: the wall clock is read here, and the
functions below it take it as ``now``."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from support import mailboxes
from support.autoclose import archive, autoclose
from support.escalation import escalate
from support.outbox import invitation_send, invitations_send_pending
from support.staff_mail import staff_mail_send, staff_mail_send_pending


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_staff_mail(mail_ids: list[int]) -> int:
    """E-mails to staff written by one event, queued when its transaction committed."""
    return staff_mail_send(mail_ids, now=timezone.now())


@shared_task
def send_pending_staff_mail() -> int:
    """Beat: staff e-mails still unsent a few minutes after they were written, or given
    back by a failed try."""
    return staff_mail_send_pending(now=timezone.now(), older_than=timedelta(minutes=5))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_invitation(invitation_id: int) -> bool:
    """An invitation to register, written when staff discarded a stranger's mail."""
    return invitation_send(invitation_id, now=timezone.now())


@shared_task
def send_pending_invitations() -> int:
    """Beat: invitations still unsent a few minutes after they were written."""
    return invitations_send_pending(now=timezone.now(), older_than=timedelta(minutes=5))




@shared_task
def sla_tick() -> dict:
    """Beat: escalate SLA breaches and risks (their staff mail goes out like any other),
    warn and auto-close tickets the client left waiting, archive old closed tickets."""
    now = timezone.now()
    warned, closed = autoclose(now=now)
    return {"escalated": escalate(now=now), "warned": warned, "closed": closed,
            "archived": archive(now=now)}



@shared_task
def poll_mail_gateways() -> int:
    """Beat: one task per enabled mailbox, so that a slow server delays only its own."""
    ids = mailboxes.enabled_gateway_ids()
    for gateway_id in ids:
        poll_mail_gateway.delay(gateway_id)
    mailboxes.quiet_polls_prune(now=timezone.now())
    return len(ids)


# Late acks (the project's default) are safe: each message a poll took is committed with
# its UID, and a Message-ID is taken once, so a poll run again takes nothing twice.
@shared_task
def poll_mail_gateway(gateway_id: int) -> int | None:
    poll = mailboxes.gateway_poll(gateway_id=gateway_id, now=timezone.now(), reason="beat")
    return None if poll is None else poll.stored

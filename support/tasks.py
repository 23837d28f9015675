"""Celery entry points of the support center: ids in, a function called."""

from celery import shared_task
from django.utils import timezone

from support import mailboxes


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

"""Celery entry points of the accounts layer: ids in, a function called."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from accounts.notifications import notifications_send, notifications_send_pending


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_notifications(notification_ids: list[int]) -> int:
    """A batch of e-mails written together (the billing clock's reminders, ...)."""
    return notifications_send(notification_ids)


@shared_task
def send_pending_notifications() -> int:
    """Beat: e-mails still unsent a few minutes after they were written."""
    return notifications_send_pending(now=timezone.now(), older_than=timedelta(minutes=5))

"""Celery entry points of the payments layer."""

import urllib.error
import urllib.request

from celery import shared_task
from django.utils import timezone

from payments.gateways.sandbox import HEADER
from payments.refunds import refunds_settle_pending
from payments.upkeep import payments_expire_abandoned, payments_resolve_unknown


@shared_task
def resolve_unknown_payments() -> int:
    return payments_resolve_unknown(now=timezone.now())


@shared_task
def expire_abandoned_payments() -> int:
    return payments_expire_abandoned(now=timezone.now())


@shared_task
def settle_pending_refunds() -> int:
    return refunds_settle_pending(now=timezone.now())


@shared_task(bind=True, max_retries=8, default_retry_delay=5)
def deliver_sandbox_webhook(self, url: str, body: str, signature: str) -> int:
    """The sandbox gateway posts its event to our webhook endpoint over HTTP, and retries
    with backoff until it is accepted, as a real gateway does."""
    request = urllib.request.Request(  # noqa: S310 - our own endpoint, http(s) only
        url, data=body.encode(), method="POST",
        headers={"Content-Type": "application/json", HEADER: signature})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except (urllib.error.URLError, TimeoutError) as error:
        if isinstance(error, urllib.error.HTTPError) and 400 <= error.code < 500:
            return error.code  # refused for good (bad signature): do not retry
        raise self.retry(exc=error, countdown=min(300, 5 * 2 ** self.request.retries)) \
            from error

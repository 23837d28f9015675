"""Celery entry points of the support center: the wall clock is read here, and the
functions below it take it as ``now``."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from support.autoclose import archive, autoclose
from support.escalation import escalate, escalations_send_pending


@shared_task
def sla_tick() -> dict:
    """Beat: escalate SLA breaches and risks, warn and auto-close tickets the client left
    waiting, archive old closed tickets, and mail escalations a mail server refused."""
    now = timezone.now()
    warned, closed = autoclose(now=now)
    return {"escalated": escalate(now=now), "warned": warned, "closed": closed,
            "archived": archive(now=now),
            "resent": escalations_send_pending(now=now, older_than=timedelta(minutes=5))}

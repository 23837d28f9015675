"""Celery entry points of the billing clock (it lives with the cart: renewals are orders)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from celery import group, shared_task
from django.db import connection
from django.utils import timezone

from billing import charging
from cart import clock

CLOCK_LOCK = 4242_0001  # a PostgreSQL advisory lock: one clock at a time


@shared_task
def billing_tick() -> list[str]:
    """Beat, every minute: run the days not run yet, up to today (normally none, once a
    day one). Another tick still running makes this one step aside."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [CLOCK_LOCK])
        if not cursor.fetchone()[0]:
            return []
        try:
            return [str(report.day) for report in clock.catch_up(timezone.localdate())]
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [CLOCK_LOCK])


@shared_task
def resume_paid_services() -> int:
    """Beat, every minute: clients whose balance covers again what was stopped for debt."""
    from cart.payments import resume_after_payment

    count = 0
    for client in charging.clients_to_resume():
        count += len(resume_after_payment(client, timezone.localdate()))
    return count


def run_chunks_on_workers(as_of: date, ranges: list[tuple[int, int]],
                          timeout: float = 3600) -> list[charging.ChunkResult]:
    """Spread a day's chunks over the Celery workers and gather what they did."""
    from billing.tasks import charge_daily_chunk

    if not ranges:
        return []
    job = group(charge_daily_chunk.s(as_of.isoformat(), lo, hi) for lo, hi in ranges)
    results = []
    for payload in job.apply_async().get(timeout=timeout, disable_sync_subtasks=False):
        result = charging.ChunkResult(charged=payload["charged"], unpaid=payload["unpaid"],
                                      low_balance=payload.get("low_balance", []),
                                      unpriced=payload.get("unpriced", []))
        result.amounts = {k: Decimal(v) for k, v in payload["amounts"].items()}
        results.append(result)
    return results

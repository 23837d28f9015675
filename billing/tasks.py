"""Celery entry points of the billing layer: ids and ISO dates in, a function called."""

from datetime import date

from celery import shared_task

from billing import charging


@shared_task(acks_late=True, reject_on_worker_lost=True)
def charge_daily_chunk(as_of: str, lo: int, hi: int) -> dict:
    """One chunk of a day's daily charges. Safe to run twice: a daily charge is unique
    per service and day, so a redelivered chunk charges only what is still due."""
    result = charging.charge_daily_chunk(date.fromisoformat(as_of), lo, hi)
    return {"charged": result.charged, "unpaid": result.unpaid,
            "low_balance": result.low_balance, "unpriced": result.unpriced,
            "amounts": {k: str(v) for k, v in result.amounts.items()}}

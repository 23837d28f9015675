"""The steps of a billing day, in their order, each cut into chunks of clients.

1. ``promised``: take back the promised payments that are due;
2. ``renewals``: renew what auto-renews (before the daily charges: a renewal is the larger
   debt, and its service stops when it is not paid);
3. ``daily``: charge the daily services, stop those the balance could not pay, and remind
   the clients whose balance runs low;
4. ``overages``: charge metered usage of periods that ended;
5. ``closing`` (on the 1st): the closing documents of the month that ended;
6. ``expired``: stop period services whose paid period ended;
7. ``deletions``: delete what stayed stopped past its plan's grace period;
8. ``reminders``: tell clients what expires soon.

A step has a plan (how much work each client has, cut into client ranges by
``engine.chunks``) and a run (the work of one range, set-based, idempotent), which returns
what it did as JSON: counts, amounts by currency and lists of service ids, which add up
over chunks and runs (``results_of``, ``stats_add``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings

from billing import daily, overages, promises
from billing.closing import DUE_PER_CLIENT as CLOSING_DUE_PER_CLIENT
from billing.closing import closing_documents_issue, month_bounds
from core.days import start_of
from engine import reminders, renewals, suspensions
from engine.chunks import client_ranges

if TYPE_CHECKING:
    from engine.models import BillingDay


@dataclass(frozen=True)
class Step:
    name: str
    # How many units of work each client has on a day (SQL of client_id, n, with the
    # parameters of plan_params), and how many units a chunk takes.
    due_per_client: str
    chunk_size: int
    run: Callable[[date, int, int, BillingDay], dict]
    on: Callable[[date], bool] = lambda day: True

    def plan(self, day: date) -> list[tuple[int, int]]:
        return client_ranges(self.due_per_client, plan_params(day),
                             size=settings.CLOCK_CHUNK_SIZE or self.chunk_size)


def plan_params(day: date) -> dict:
    """The parameters of the steps' queries: the day, the moment it ends, the month that
    ended the day before (the closing documents' on the 1st), and every client."""
    start, end = month_bounds(day - timedelta(days=1))
    return {"day": day, "day_end": daily.day_bounds(day), "month_start": start,
            "month_end": end, "lo": 0, "hi": 2**63 - 1}


# The work of each step, for the clients lo..hi --------------------------------------------
def _promised(day: date, lo: int, hi: int, record: BillingDay) -> dict:
    return {"promised_collected": promises.collect_promised(day, clients=(lo, hi))}


def _renewals(day: date, lo: int, hi: int, record: BillingDay) -> dict:
    done = renewals.renew_chunk(day, lo, hi, charge_saved=record.charge_saved)
    return {"renewed": done.renewed, "renewal_pending": done.pending,
            "renewal_failed": done.failed,
            "renewed_amounts": {k: str(v) for k, v in done.amounts.items()}}


def _daily(day: date, lo: int, hi: int, record: BillingDay) -> dict:
    charged = daily.charge_daily_chunk(day, lo, hi)
    stopped = suspensions.suspend_unpaid(
        charged.unpaid, day, protected=renewals.services_with_payment_in_flight(
            day, clients=(lo, hi)))
    return {"charged": charged.charged,
            "amounts": {k: str(v) for k, v in charged.amounts.items()},
            "unpaid": charged.unpaid, "unpriced": charged.unpriced,
            "suspended_unpaid": stopped,
            "reminders": reminders.low_balance_reminders(charged.low_balance, day)}


def _overages(day: date, lo: int, hi: int, record: BillingDay) -> dict:
    return {"overages": overages.charge_overages(day, clients=(lo, hi))}


def _closing(day: date, lo: int, hi: int, record: BillingDay) -> dict:
    return {"closing_documents": closing_documents_issue(
        month=day - timedelta(days=1), at=start_of(day), clients=(lo, hi))}


def _expired(day: date, lo: int, hi: int, record: BillingDay) -> dict:
    return {"suspended_expired": suspensions.suspend_expired(
        day, clients=(lo, hi), protected=renewals.services_with_payment_in_flight(
            day, clients=(lo, hi)))}


def _deletions(day: date, lo: int, hi: int, record: BillingDay) -> dict:
    return {"deleted": suspensions.delete_overdue(day, clients=(lo, hi))}


def _reminders(day: date, lo: int, hi: int, record: BillingDay) -> dict:
    return {"reminders": reminders.expiry_reminders(day, clients=(lo, hi))}


STEPS: list[Step] = [
    Step("promised", promises.DUE_PER_CLIENT, 2_000, _promised),
    Step("renewals", renewals.DUE_PER_CLIENT, 2_500, _renewals),
    Step("daily", daily.DUE_PER_CLIENT, 10_000, _daily),
    Step("overages", overages.DUE_PER_CLIENT, 2_000, _overages),
    Step("closing", CLOSING_DUE_PER_CLIENT, 5_000, _closing, on=lambda day: day.day == 1),
    Step("expired", suspensions.EXPIRED_PER_CLIENT, 5_000, _expired),
    Step("deletions", suspensions.OVERDUE_PER_CLIENT, 5_000, _deletions),
    Step("reminders", reminders.EXPIRING_PER_CLIENT, 5_000, _reminders),
]
_BY_NAME = {step.name: step for step in STEPS}


def by_name(name: str) -> Step:
    return _BY_NAME[name]


def after(name: str, day: date) -> list[Step]:
    """The steps that follow ``name`` ("" is before the first) and run on ``day``."""
    index = 0 if not name else [s.name for s in STEPS].index(name) + 1
    return [step for step in STEPS[index:] if step.on(day)]


# What the chunks did, added up ----------------------------------------------------------------
def _add(total: dict, part: dict) -> dict:
    for key, value in part.items():
        if isinstance(value, list):
            total[key] = [*total.get(key, []), *value]
        elif isinstance(value, dict):
            sums = dict(total.get(key, {}))
            for currency, amount in value.items():
                sums[currency] = str(Decimal(sums.get(currency, "0")) + Decimal(amount))
            total[key] = sums
        else:
            total[key] = total.get(key, 0) + value
    return total


def results_of(results: Iterable[dict]) -> dict:
    """What the chunks of a run did, together."""
    total: dict = {}
    for result in results:
        _add(total, result)
    return total


# Lists of ids kept in a day's stats: enough for staff to look at some.
STATS_SAMPLE = 100


def stats_add(stats: dict, run: dict) -> dict:
    """A day's stats after one more run: counts and amounts add up, lists become their
    length (with a sample of ids)."""
    total = dict(stats)
    for key, value in run.items():
        if isinstance(value, list):
            total[key] = total.get(key, 0) + len(value)
            if value:
                total[f"{key}_sample"] = value[:STATS_SAMPLE]
        elif isinstance(value, dict):
            _add(total, {key: value})
        else:
            total[key] = total.get(key, 0) + value
    return total

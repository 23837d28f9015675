"""The billing clock: the days it owes, run in order, each a sequence of steps
(``engine.steps``) cut into chunks that Celery workers do (``engine.coordinator``).

The production path is the beat's ``billing_tick`` (``engine.tasks``): it queues the days
owed up to today and hands the first one's chunks to the workers; each worker that
finishes a step's last chunk plans the next step, and the day's last chunk finishes the
day and starts the next. This module also runs days here, in the calling process, by the
same coordinator: ``run_day`` (tests and ``billing_run`` without workers) and
``run_day(dry_run=True)``, which runs the day in a transaction that is rolled back (no
card is charged, no mail leaves). Nothing in a day reads today's date: a replay writes
the replayed day.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from engine import coordinator, steps
from engine.models import BillingDay, DayStatus, Runner


class DryRun(Exception):
    pass


class ClockBusy(Exception):
    """The day is being run elsewhere and did not finish in the time given."""


@dataclass
class DayReport:
    day: date
    charged: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)
    unpaid: list[int] = field(default_factory=list)
    suspended_unpaid: list[int] = field(default_factory=list)
    suspended_expired: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    renewed: list[int] = field(default_factory=list)
    renewed_amounts: dict[str, Decimal] = field(default_factory=dict)
    renewal_pending: list[int] = field(default_factory=list)
    renewal_failed: list[int] = field(default_factory=list)
    unpriced: list[int] = field(default_factory=list)
    overages: int = 0
    closing_documents: int = 0
    promised_collected: int = 0
    reminders: int = 0

    @classmethod
    def of(cls, day: date, result: dict) -> DayReport:
        report = cls(day)
        for key, value in result.items():
            if isinstance(value, dict):
                value = {currency: Decimal(amount) for currency, amount in value.items()}
            setattr(report, key, value)
        for name in ("unpaid", "suspended_unpaid", "suspended_expired", "deleted", "renewed",
                     "renewal_pending", "renewal_failed", "unpriced"):
            setattr(report, name, sorted(getattr(report, name)))
        return report

    def lines(self) -> list[str]:
        amounts = ", ".join(f"{v} {k}" for k, v in self.amounts.items()) or "nothing"
        renewed = ", ".join(f"{v} {k}" for k, v in self.renewed_amounts.items()) or "nothing"
        return [
            f"{self.day}: charged {self.charged} daily service(s): {amounts}"
            + (f"; NOT PRICED (no price for their period) {self.unpriced[:20]}"
               if self.unpriced else ""),
            f"  renewed {len(self.renewed)} for {renewed} {self.renewed[:20]}, waiting for "
            f"money {len(self.renewal_pending)} {self.renewal_pending[:20]}"
            + (f", NOT PRICED {self.renewal_failed[:20]}" if self.renewal_failed else ""),
            f"  stopped for non-payment {len(self.suspended_unpaid)} "
            f"{self.suspended_unpaid[:20]}, expired {len(self.suspended_expired)} "
            f"{self.suspended_expired[:20]}",
            f"  deleted {len(self.deleted)} {self.deleted[:20]}, overages {self.overages}, "
            f"closing documents {self.closing_documents}, "
            f"promised payments taken back {self.promised_collected}, "
            f"reminders {self.reminders}",
        ]


def report_of(record: BillingDay) -> DayReport:
    """What the latest run of the day did."""
    return DayReport.of(record.day, steps.results_of(
        record.chunks.filter(run=record.run).values_list("result", flat=True)))


# Running days here ------------------------------------------------------------------------------
def run_day(as_of: date, *, dry_run: bool = False,
            now: Callable[[], datetime] = timezone.now) -> DayReport:
    """Run ``as_of`` (again, if it ran before) in this process and return what it did.
    ``dry_run``: inside a transaction rolled back at the end, with no card charged."""
    if not dry_run:
        record = coordinator.day_queue(as_of, runner=Runner.HERE, now=now(), again=True)
        return report_of(run_here(record, now=now))
    report = None
    try:
        with transaction.atomic():
            BillingDay.objects.filter(day=as_of).delete()
            record = coordinator.day_queue(as_of, runner=Runner.HERE, now=now(),
                                           charge_saved=False)
            report = report_of(run_here(record, now=now))
            raise DryRun
    except DryRun:
        pass
    return report


def run_here(record: BillingDay, *, now: Callable[[], datetime] = timezone.now,
             wait: float = 3600) -> BillingDay:
    """Do the day's chunks in this process until the day is finished. Chunks that workers
    hold (a day the beat started) are waited for, up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        record.refresh_from_db()
        if record.status == DayStatus.FINISHED:
            return record
        if record.status == DayStatus.QUEUED:
            coordinator.day_start(record.pk, now=now(), runner=Runner.HERE)
            record.refresh_from_db()
            if record.status == DayStatus.QUEUED:
                raise ClockBusy(f"{record.day} waits for an earlier day to finish.")
            continue
        pending = coordinator.pending_chunks(record)
        for chunk_id in pending:
            coordinator.chunk_run(chunk_id, now=now)
        if not pending:
            if time.monotonic() > deadline:
                raise ClockBusy(f"{record.day} is being run elsewhere.")
            time.sleep(0.2)  # workers hold the step's last chunks: let them finish


def catch_up(until: date, *, now: Callable[[], datetime] = timezone.now) -> list[DayReport]:
    """Run every day owed up to ``until`` here, in order (the distributed path is the
    tick's, ``engine.tasks.billing_tick``)."""
    reports = []
    for day in coordinator.owed_days(until):
        record = coordinator.day_queue(day, runner=Runner.HERE, now=now(), owed=True)
        reports.append(report_of(run_here(record, now=now)))
    return reports

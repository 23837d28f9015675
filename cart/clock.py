"""The billing clock: one day of billing, as a function of that day.

``run_day(as_of)`` does the day's work in order: take back promised payments that are
due, renew what auto-renews, charge the daily services (in chunks, set-based, any number
of workers), stop what could not be paid, charge the overages of periods that ended,
stop what expired, delete what stayed unpaid past its grace period, and send the
reminders; on the 1st, document the month that ended (closing documents). Every step is
idempotent, so a day run twice (a retried task, a replay) charges, renews and mails once.
Nothing in it reads today's date: ``billing_run --from --to`` replays days in order, and
``--dry-run`` runs a day inside a transaction that is rolled back (no card is charged, no
mail leaves).

The clock lives with the cart, the top layer, because renewals are orders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Client, Provider
from accounts.notifications import notify
from billing import charging
from billing.closing import closing_documents_issue
from billing.ledger import personal_account
from billing.models import BillingDay, Charge, ChargeKind
from cart import renewals
from core.days import start_of
from core.money import format_money
from services.models import Charging, Service, ServiceStatus

logger = logging.getLogger(__name__)
S = ServiceStatus


class DryRun(Exception):
    pass


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
    renewal_pending: list[int] = field(default_factory=list)
    unpriced: list[int] = field(default_factory=list)
    overages: int = 0
    closing_documents: int = 0
    promised_collected: int = 0
    reminders: int = 0

    def stats(self) -> dict:
        return {"charged": self.charged, "amounts": {k: str(v) for k, v in self.amounts.items()},
                "suspended_unpaid": len(self.suspended_unpaid),
                "suspended_expired": len(self.suspended_expired),
                "deleted": len(self.deleted), "renewed": len(self.renewed),
                "renewal_pending": len(self.renewal_pending), "overages": self.overages,
                "closing_documents": self.closing_documents,
                # Staff read these in Billing days: services the clock could not price.
                "unpriced_services": self.unpriced[:100]}

    def lines(self) -> list[str]:
        amounts = ", ".join(f"{v} {k}" for k, v in self.amounts.items()) or "nothing"
        return [
            f"{self.day}: charged {self.charged} daily service(s): {amounts}"
            + (f"; NOT PRICED (no price for their period) {self.unpriced[:20]}"
               if self.unpriced else ""),
            f"  renewed {len(self.renewed)} {self.renewed[:20]}, waiting for money "
            f"{len(self.renewal_pending)} {self.renewal_pending[:20]}",
            f"  stopped for non-payment {len(self.suspended_unpaid)} "
            f"{self.suspended_unpaid[:20]}, expired {len(self.suspended_expired)} "
            f"{self.suspended_expired[:20]}",
            f"  deleted {len(self.deleted)} {self.deleted[:20]}, overages {self.overages}, "
            f"closing documents {self.closing_documents}, "
            f"promised payments taken back {self.promised_collected}, "
            f"reminders {self.reminders}",
        ]


ChunkRunner = Callable[[date, list[tuple[int, int]]], list["charging.ChunkResult"]]


def run_chunks_here(as_of: date, ranges: list[tuple[int, int]]) -> list:
    return [charging.charge_daily_chunk(as_of, lo, hi) for lo, hi in ranges]


def run_day(as_of: date, *, dry_run: bool = False, chunk_size: int = charging.CHUNK_SIZE,
            runner: ChunkRunner | None = None) -> DayReport:
    if dry_run:
        report = DayReport(as_of)
        try:
            with transaction.atomic():
                _run(as_of, report, charge_saved=False, chunk_size=chunk_size,
                     runner=run_chunks_here)
                raise DryRun
        except DryRun:
            pass
        return report
    report = DayReport(as_of)
    _run(as_of, report, charge_saved=True, chunk_size=chunk_size,
         runner=runner or run_chunks_here)
    return report


def _run(as_of: date, report: DayReport, *, charge_saved: bool, chunk_size: int,
         runner: ChunkRunner) -> None:
    report.promised_collected = charging.collect_promised(as_of)
    for service in renewals.renewals_due(as_of):
        outcome = renewals.renew(service, as_of, charge_saved=charge_saved)
        (report.renewed if outcome.result == "renewed" else report.renewal_pending).append(
            service.pk)
    low_balance: list[int] = []
    for result in runner(as_of, charging.chunks(as_of, size=chunk_size)):
        report.charged += result.charged
        for currency, amount in result.amounts.items():
            report.amounts[currency] = report.amounts.get(currency, Decimal(0)) + amount
        report.unpaid.extend(result.unpaid)
        report.unpriced.extend(result.unpriced)
        low_balance.extend(result.low_balance)
    protected = renewals.services_with_payment_in_flight(as_of)
    report.suspended_unpaid = charging.suspend_unpaid(report.unpaid, as_of, protected=protected)
    report.overages = charging.charge_overages(as_of)
    if as_of.day == 1:  # last month is complete: its daily charges and overages documented
        report.closing_documents = closing_documents_issue(
            month=as_of - timedelta(days=1), at=start_of(as_of))
    report.suspended_expired = charging.suspend_expired(as_of, protected=protected)
    report.deleted = charging.delete_overdue(as_of)
    report.reminders = _expiry_reminders(as_of) + _low_balance_reminders(low_balance, as_of)


def _expiry_reminders(as_of: date) -> int:
    sent = 0
    for provider in Provider.objects.all():
        expiring = Service.objects.filter(
            client__provider=provider, status=S.ACTIVE, plan__charging=Charging.PERIOD,
            expires_on=as_of + timedelta(days=provider.expiry_notice_days)).select_related(
            "client")
        for service in expiring:
            sent += bool(notify(client=service.client, event="expiry_soon",
                                key=f"expiry:{service.pk}:{service.expires_on}",
                                context={"service": service,
                                         "expires_on": service.expires_on}))
    return sent


def _low_balance_reminders(client_ids: list[int], as_of: date) -> int:
    """Once per low spell: the key is the last credit, so the next reminder needs a top-up
    in between."""
    sent = 0
    for client in Client.objects.filter(pk__in=client_ids):
        account = personal_account(client)
        today = sum(Charge.objects.filter(client=client, kind=ChargeKind.DAILY,
                                          period_start=as_of).values_list("amount", flat=True))
        days_left = int(max(account.available.amount, 0) // today) if today else 0
        last_credit = account.entries.filter(amount__gt=0).order_by("-pk").values_list(
            "transaction_id", flat=True).first()
        sent += bool(notify(client=client, event="low_balance",
                            key=f"low_balance:{client.pk}:{last_credit}",
                            context={"balance": format_money(account.balance_money),
                                     "days": days_left}))
    return sent


def catch_up(until: date, **options) -> list[DayReport]:
    """Run every day not run yet, up to and including ``until``, in order. A new
    installation starts with ``until``."""
    last = BillingDay.objects.filter(finished_at__isnull=False).order_by("-day").first()
    day = last.day + timedelta(days=1) if last else until
    reports = []
    while day <= until:
        reports.append(run_recorded_day(day, **options))
        day += timedelta(days=1)
    return reports


def run_recorded_day(day: date, **options) -> DayReport:
    """Run a day and record it (the record is what catch_up looks at)."""
    try:
        record, _ = BillingDay.objects.get_or_create(day=day)
    except IntegrityError:
        record = BillingDay.objects.get(day=day)
    report = run_day(day, **options)
    BillingDay.objects.filter(pk=record.pk).update(finished_at=timezone.now(),
                                                   stats=report.stats())
    return report

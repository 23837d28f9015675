"""The dashboard's figures: each one bounded aggregate query, grouped so that amounts are
never added across currencies.

Money figures come from the ledger. Revenue is what the charges posted to the revenue
accounts, less what they posted to the discounts accounts (a credit note or a refund of
unused service posts back against them, so it is net of those too), without tax; the
ledger keeps it per company (the seller that issues the documents) and currency. Payments
are the credits of personal accounts by payments received (ledger transactions of kind
"Payment received"), per provider of the client and currency, before refunds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _

from accounts.models import Client, Company, User
from billing.models import AccountKind, Entry, LedgerAccount, TransactionKind
from core.days import start_of
from services.models import Service, ServiceOperation, ServiceStatus
from support.models import TicketStatus
from support.selectors import staff_tickets

REVENUE_KINDS = (AccountKind.REVENUE, AccountKind.DISCOUNTS)
# Tickets whose next move is the staff's.
WAITING_TICKETS = (TicketStatus.NEW, TicketStatus.AWAITING_STAFF)


@dataclass(frozen=True)
class Period:
    """A span of days [start, end), as moments at the start of each day."""

    start: date
    end: date

    @property
    def moments(self) -> tuple[datetime, datetime]:
        return start_of(self.start), start_of(self.end)


def today(day: date) -> Period:
    return Period(day, day + timedelta(days=1))


def month_to_date(day: date) -> Period:
    return Period(day.replace(day=1), day + timedelta(days=1))


def months_back(day: date, count: int = 12) -> list[date]:
    """The first days of the ``count`` months that end with ``day``'s, oldest first."""
    year, month = day.year, day.month
    firsts = []
    for _step in range(count):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return firsts[::-1]


def revenue(period: Period) -> list[dict]:
    """Net revenue per company and currency: ``{"company", "currency", "amount"}``."""
    start, end = period.moments
    rows = (Entry.objects.filter(account__kind__in=REVENUE_KINDS,
                                 transaction__created_at__gte=start,
                                 transaction__created_at__lt=end)
            .values("account__company__name", "currency").annotate(amount=Sum("amount"))
            .order_by("account__company__name", "currency"))
    return [{"company": row["account__company__name"] or str(_("(no company)")),
             "currency": row["currency"], "amount": row["amount"]} for row in rows]


def revenue_by_month(day: date, count: int = 12) -> dict:
    """Net revenue per month and currency over the ``count`` months ending with ``day``'s:
    ``{"months": ["2026-01", ...], "series": {"USD": ["12.00", ...]}}`` (amounts as
    strings: exact, for the chart's JSON)."""
    firsts = months_back(day, count)
    start, end = Period(firsts[0], day + timedelta(days=1)).moments
    rows = (Entry.objects.filter(account__kind__in=REVENUE_KINDS,
                                 transaction__created_at__gte=start,
                                 transaction__created_at__lt=end)
            .annotate(month=TruncMonth("transaction__created_at"))
            .values("month", "currency").annotate(amount=Sum("amount")).order_by())
    keys = [f"{first:%Y-%m}" for first in firsts]
    series: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        series.setdefault(row["currency"], {})[f"{row['month']:%Y-%m}"] = row["amount"]
    return {"months": keys,
            "series": {currency: [str(amounts.get(key, Decimal(0))) for key in keys]
                       for currency, amounts in sorted(series.items())}}


def payments_received(period: Period) -> list[dict]:
    """Payments credited to personal accounts, per provider and currency:
    ``{"provider", "currency", "amount", "count"}``."""
    start, end = period.moments
    rows = (Entry.objects.filter(account__kind=AccountKind.CLIENT,
                                 transaction__kind=TransactionKind.TOPUP,
                                 transaction__created_at__gte=start,
                                 transaction__created_at__lt=end)
            .values("account__client__provider__name", "currency")
            .annotate(amount=Sum("amount"), count=Count("id"))
            .order_by("account__client__provider__name", "currency"))
    return [{"provider": row["account__client__provider__name"], "currency": row["currency"],
             "amount": row["amount"], "count": row["count"]} for row in rows]


def _per_provider(rows, key: str) -> dict[str, int]:
    return {row[key]: row["n"] for row in rows}


def new_clients(period: Period) -> dict[str, int]:
    start, end = period.moments
    return _per_provider(Client.objects.filter(created_at__gte=start, created_at__lt=end)
                         .values("provider__name").annotate(n=Count("id")).order_by(),
                         "provider__name")


def new_services(period: Period) -> dict[str, int]:
    start, end = period.moments
    return _per_provider(Service.objects.filter(created_at__gte=start, created_at__lt=end)
                         .values("client__provider__name").annotate(n=Count("id"))
                         .order_by(), "client__provider__name")


def services_in_progress() -> dict[str, int]:
    """Services busy with an operation now ("In progress"), per provider."""
    return _per_provider(Service.objects.filter(status=ServiceStatus.IN_PROGRESS)
                         .values("client__provider__name").annotate(n=Count("id"))
                         .order_by(), "client__provider__name")


def failed_operations() -> dict[str, int]:
    """Provisioning operations that failed and wait for staff to retry or cancel them."""
    return _per_provider(ServiceOperation.objects.filter(status=ServiceOperation.Status.FAILED)
                         .values("service__client__provider__name").annotate(n=Count("id"))
                         .order_by(), "service__client__provider__name")


def clients_in_debt() -> list[dict]:
    """Clients whose balance is below zero now, per provider and currency, with the sum
    of their negative balances: ``{"provider", "currency", "count", "debt"}``."""
    rows = (LedgerAccount.objects.filter(kind=AccountKind.CLIENT, balance__lt=0)
            .values("client__provider__name", "currency")
            .annotate(count=Count("id"), debt=Sum("balance"))
            .order_by("client__provider__name", "currency"))
    return [{"provider": row["client__provider__name"], "currency": row["currency"],
             "count": row["count"], "debt": row["debt"]} for row in rows]


def tickets_waiting(user: User) -> dict[str, int]:
    """Tickets of the queues the user works whose next move is the staff's, per support
    department."""
    return _per_provider(staff_tickets(user).filter(status__in=WAITING_TICKETS)
                         .values("department__name").annotate(n=Count("id")).order_by(),
                         "department__name")


def providers_of_companies() -> dict[str, list[str]]:
    """Each company's providers, to say whose revenue a company's is."""
    through = Company.providers.through
    names: dict[str, list[str]] = {}
    for company, provider in (through.objects.values_list("company__name", "provider__name")
                              .order_by("company__name", "provider__name")):
        names.setdefault(company, []).append(provider)
    return names


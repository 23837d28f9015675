"""Demo exchange rates (issue 15): a month of EUR/USD and USD/RUB a day, so a report can
show its totals in another currency. Safe to re-run."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from billing.currencies import currencies_ensure
from billing.models import ExchangeRate, RateSource

# 1 base = rate quote on the first day; each later day moves by the step.
PAIRS = [("EUR", "USD", Decimal("1.0500"), Decimal("0.0011")),
         ("USD", "RUB", Decimal("92.5000"), Decimal("-0.0700"))]


def seed(*, today: date) -> None:
    currencies_ensure()
    first = today - timedelta(days=30)
    ExchangeRate.objects.bulk_create([
        ExchangeRate(base_id=base, quote_id=quote, valid_on=first + timedelta(days=n),
                     rate=start + step * n, source=RateSource.FILE)
        for base, quote, start, step in PAIRS for n in range(31)], ignore_conflicts=True)

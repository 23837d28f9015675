"""Billing periods and the date arithmetic of periods.

The rule for adding months: the expiry keeps the day of the month the service was
activated on (its anchor day) and, in a month too short for it, falls on that month's
last day. A service activated on 31 January expires on 28 (or 29) February, then on
31 March, not on 28 March: months never drift.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from django.db import models


class BillingPeriod(models.TextChoices):
    DAY = "day", "day"
    MONTH = "month", "month"
    QUARTER = "3months", "3 months"
    HALF_YEAR = "6months", "6 months"
    YEAR = "year", "year"
    TWO_YEARS = "2years", "2 years"
    THREE_YEARS = "3years", "3 years"

    @property
    def months(self) -> int:
        return _MONTHS[self]


_MONTHS = {
    BillingPeriod.DAY: 0,
    BillingPeriod.MONTH: 1,
    BillingPeriod.QUARTER: 3,
    BillingPeriod.HALF_YEAR: 6,
    BillingPeriod.YEAR: 12,
    BillingPeriod.TWO_YEARS: 24,
    BillingPeriod.THREE_YEARS: 36,
}


def add_months(start: date, months: int, *, anchor_day: int | None = None) -> date:
    """``start`` plus ``months`` months, on ``anchor_day`` (default: start's day) or the
    last day of the month when the month is shorter."""
    anchor = anchor_day or start.day
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(anchor, calendar.monthrange(year, month)[1]))


def add_period(start: date, period: str, *, anchor_day: int | None = None) -> date:
    """The end of one billing period that begins on ``start``."""
    period = BillingPeriod(period)
    if period == BillingPeriod.DAY:
        return start + timedelta(days=1)
    return add_months(start, period.months, anchor_day=anchor_day)

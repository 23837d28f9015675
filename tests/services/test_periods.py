import calendar
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.periods import BillingPeriod, add_months, add_period


@pytest.mark.parametrize(
    ("start", "period", "anchor", "expected"),
    [
        (date(2027, 1, 15), BillingPeriod.MONTH, None, date(2027, 2, 15)),
        (date(2027, 1, 31), BillingPeriod.MONTH, None, date(2027, 2, 28)),
        (date(2028, 1, 31), BillingPeriod.MONTH, None, date(2028, 2, 29)),
        (date(2027, 2, 28), BillingPeriod.MONTH, 31, date(2027, 3, 31)),
        (date(2027, 4, 30), BillingPeriod.MONTH, 31, date(2027, 5, 31)),
        (date(2027, 11, 30), BillingPeriod.QUARTER, 30, date(2028, 2, 29)),
        (date(2027, 8, 31), BillingPeriod.HALF_YEAR, None, date(2028, 2, 29)),
        (date(2028, 2, 29), BillingPeriod.YEAR, None, date(2029, 2, 28)),
        (date(2029, 2, 28), BillingPeriod.YEAR, 29, date(2030, 2, 28)),
        (date(2028, 2, 29), BillingPeriod.TWO_YEARS, 29, date(2030, 2, 28)),
        (date(2027, 12, 31), BillingPeriod.DAY, None, date(2028, 1, 1)),
        (date(2027, 12, 15), BillingPeriod.THREE_YEARS, None, date(2030, 12, 15)),
    ],
)
def test_add_period(start, period, anchor, expected):
    assert add_period(start, period, anchor_day=anchor) == expected


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
       st.integers(min_value=1, max_value=60))
def test_renewals_never_drift_from_the_anchor_day(start, renewals):
    """Renewing month by month lands where adding all the months at once lands."""
    expiry = start
    for _ in range(renewals):
        expiry = add_months(expiry, 1, anchor_day=start.day)

    assert expiry == add_months(start, renewals)
    last_day = calendar.monthrange(expiry.year, expiry.month)[1]
    assert expiry.day == start.day or (expiry.day < start.day and expiry.day == last_day)

"""How a charge's derivation reads in Expenses."""

from types import SimpleNamespace

import pytest

from billing.templatetags.billing_tags import derivation_rows


@pytest.mark.parametrize(("derivation", "expected"), [
    ({"rule": "daily", "tariff": "VPS Daily", "period": "day", "period_price": 1.1,
      "discount_percent": 10.0, "days": 30, "day": 22},
     [("Rule", "the plan's price for a day"), ("Tariff", "VPS Daily"), ("Period", "day"),
      ("Price for the period", "1.10 USD"), ("Discount, %", "10")]),
    ({"rule": "daily", "period": "month", "period_price": "31", "days": 31, "day": 3,
      "discount_percent": 0},
     [("Rule", "a day's share of the period price: the price in minor units (cents) spread "
               "over the days of the month, the units left over on its last days"),
      ("Period", "month"), ("Price for the period", "31.00 USD"), ("Days in the month", "31"),
      ("Day of the month", "3"), ("Discount, %", "0")]),
    ({"lines": [["Plan", "10.00"], ["Disk", "2.50"]], "order": 7, "recurring_net": "12.5"},
     [("Price lines", "Plan: 10.00; Disk: 2.50"), ("Recurring price", "12.50 USD"),
      ("Order", "7")]),
])
def test_known_keys_read_in_words_and_unknown_ones_follow(derivation, expected):
    charge = SimpleNamespace(derivation=derivation, currency="USD")

    assert derivation_rows(charge) == expected

from decimal import Decimal

import pytest
from djmoney.money import Money
from hypothesis import given
from hypothesis import strategies as st

from billing.calculators import LineInput, document_totals
from core.money import round_money, split_evenly


def usd(amount):
    return Money(Decimal(amount), "USD")


@pytest.mark.parametrize(
    ("prices", "rate", "rounding", "net", "tax"),
    [
        (["10.00"], "0.20", "line", "10.00", "2.00"),
        (["0.05", "0.05", "0.05"], "0.19", "line", "0.15", "0.03"),  # 0.0095 -> 0.01 each
        (["0.05", "0.05", "0.05"], "0.19", "document", "0.15", "0.03"),  # 0.0285 -> 0.03
        (["0.02", "0.02", "0.02"], "0.21", "line", "0.06", "0.00"),  # 0.0042 -> 0.00 each
        (["0.02", "0.02", "0.02"], "0.21", "document", "0.06", "0.01"),  # 0.0126 -> 0.01
        (["19.99", "5.01"], "0", "line", "25.00", "0.00"),
    ],
)
def test_document_totals(prices, rate, rounding, net, tax):
    totals = document_totals([LineInput("x", usd(p)) for p in prices], currency="USD",
                             tax_rate=Decimal(rate), rounding=rounding)

    assert (totals.net, totals.tax) == (usd(net), usd(tax))


prices = st.lists(st.integers(min_value=-100_000, max_value=1_000_000)
                  .map(lambda c: usd(Decimal(c) / 100)), min_size=1, max_size=30)
rates = st.sampled_from(["0", "0.05", "0.07", "0.19", "0.2", "0.21", "0.255"]).map(Decimal)


@given(prices=prices, rate=rates, rounding=st.sampled_from(["line", "document"]))
def test_lines_always_add_up_to_the_document(prices, rate, rounding):
    totals = document_totals([LineInput("x", p) for p in prices], currency="USD",
                             tax_rate=rate, rounding=rounding)

    assert sum(line.net.amount for line in totals.lines) == totals.net.amount
    assert sum(line.tax.amount for line in totals.lines) == totals.tax.amount
    assert sum(line.gross.amount for line in totals.lines) == totals.gross.amount
    for line in totals.lines:
        assert line.tax == round_money(line.tax)
    if rounding == "document":
        assert totals.tax == round_money(totals.net * rate)


@given(total=st.integers(min_value=-10**9, max_value=10**9).map(lambda c: usd(Decimal(c) / 100)),
       parts=st.integers(min_value=1, max_value=400))
def test_split_evenly_adds_up_exactly(total, parts):
    amounts = split_evenly(total, parts)

    assert len(amounts) == parts
    assert sum(a.amount for a in amounts) == total.amount
    assert max(a.amount for a in amounts) - min(a.amount for a in amounts) <= Decimal("0.01")

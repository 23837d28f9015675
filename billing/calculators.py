"""Pure money arithmetic of documents: no ORM, no I/O, table- and property-tested.

Tax is computed on net amounts. The company chooses how tax is rounded:

* per line: each line's tax is rounded; the document's tax is their sum;
* per document: the document's tax is the rounded tax of the net total, and it is
  spread over the lines (largest remainder first) so that lines still add up to it.

Either way the lines add up to the document, to the minor unit.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

from djmoney.money import Money

from core.money import money_sum, quantum, round_fraction, round_money, split_evenly, zero


@dataclass(frozen=True)
class LineInput:
    description: str
    unit_price: Money
    quantity: Decimal = Decimal(1)


@dataclass(frozen=True)
class LineTotals:
    net: Money
    tax: Money

    @property
    def gross(self) -> Money:
        return self.net + self.tax


@dataclass(frozen=True)
class DocumentTotals:
    lines: list[LineTotals]
    net: Money
    tax: Money

    @property
    def gross(self) -> Money:
        return self.net + self.tax


def document_totals(lines: list[LineInput], *, currency: str, tax_rate: Decimal,
                    rounding: str = "line") -> DocumentTotals:
    nets = [round_money(line.unit_price * line.quantity) for line in lines]
    for net in nets:
        if str(net.currency) != currency:
            raise ValueError(f"A line in {net.currency} on a document in {currency}.")
    if rounding == "line":
        taxes = [round_money(net * tax_rate) for net in nets]
    elif rounding == "document":
        taxes = _spread(round_money(money_sum(nets, currency) * tax_rate), nets, tax_rate)
    else:
        raise ValueError(f"Unknown tax rounding {rounding!r}.")
    totals = [LineTotals(net, tax) for net, tax in zip(nets, taxes, strict=True)]
    return DocumentTotals(totals, money_sum(nets, currency), money_sum(taxes, currency))


def _spread(total_tax: Money, nets: list[Money], rate: Decimal) -> list[Money]:
    """Split the document's tax over the lines in proportion to their exact tax: each
    line gets its exact tax rounded down, and the minor units left over go to the lines
    that lost the most to rounding down. (The rounded total is never below the sum of
    the rounded-down parts, and exceeds it by fewer units than there are lines.)"""
    currency = str(total_tax.currency)
    step = quantum(currency)
    exact = [net.amount * rate for net in nets]
    floors = [(value / step).to_integral_value(rounding=ROUND_FLOOR) * step for value in exact]
    leftover = int((total_tax.amount - sum(floors, Decimal(0))) / step)
    by_loss = sorted(range(len(nets)), key=lambda i: exact[i] - floors[i], reverse=True)
    for index in by_loss[:leftover]:
        floors[index] += step
    return [Money(amount, currency) if amount else zero(currency) for amount in floors]


# Proration ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Proration:
    """A configuration change inside a paid period.

    The rule (stated once, here): a period of T days costs what each configuration
    costs for the days it was in place: the sum over configurations of price x days / T.
    A change on day d (the new configuration counts from d) adds
    (new price - old price) x (days from d to the period's end) / T to what is owed.
    What is owed is kept exact (a fraction); each change is charged the rounded new
    total minus what was charged so far, so the charges of a period always add up to
    the rounded exact total, to the minor unit, however many changes it has.
    """

    charge: Money  # positive: the client pays; negative: the client is credited
    owed_exact: Fraction  # what the period now costs, exactly
    remaining_days: int
    total_days: int


def prorate(*, period_start: date, period_end: date, change_on: date, old_price: Money,
            new_price: Money, owed_before: Fraction, charged_before: Money) -> Proration:
    currency = str(new_price.currency)
    total_days = (period_end - period_start).days
    if total_days <= 0 or not (period_start <= change_on <= period_end):
        raise ValueError("The change date must be inside a period of at least one day.")
    remaining = (period_end - change_on).days
    delta = Fraction(new_price.amount - old_price.amount)
    owed = owed_before + delta * remaining / total_days
    return Proration(round_fraction(owed, currency) - charged_before, owed, remaining,
                     total_days)


# Daily charging ------------------------------------------------------------------------------
def daily_amount(period_price: Money, period: str, day: date) -> Money:
    """What one day of a daily-charged service costs.

    The rule (stated once, here, and mirrored by the set-based SQL of billing.charging):
    a price per day is charged as it is; a price per month is spread over the days of the
    calendar month, each day getting the month price divided by its days rounded down to
    the minor unit, and the minor units left over going one each to the month's last days,
    so the days of a month add up to the month price exactly.
    """
    if period == "day":
        return round_money(period_price)
    if period != "month":
        raise ValueError("Daily charging takes a price per day or per month.")
    days = calendar.monthrange(day.year, day.month)[1]
    return split_evenly(round_money(period_price), days)[day.day - 1]

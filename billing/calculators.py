"""Pure money arithmetic of documents: no ORM, no I/O, table- and property-tested.

Tax is computed on net amounts. The company chooses how tax is rounded:

* per line: each line's tax is rounded; the document's tax is their sum;
* per document: the document's tax is the rounded tax of the net total, and it is
  spread over the lines (largest remainder first) so that lines still add up to it.

Either way the lines add up to the document, to the minor unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from djmoney.money import Money

from core.money import money_sum, quantum, round_money, zero


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

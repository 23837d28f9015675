"""Exchange rates: the rate of a pair on a day, and an amount shown in another currency.

For reports only: balances, charges and payments stay in their own currency and are
never converted; a converted total always says which rate date it used.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import gettext as _
from djmoney.money import Money

from billing.models import ExchangeRate
from core.money import round_fraction, round_money


class RateNotFound(LookupError):
    """No rate of the pair (either way round) on or before the day."""


@dataclass(frozen=True)
class Rate:
    base: str
    quote: str
    rate: Decimal  # 1 base = rate quote, as stored (of the opposite pair when inverted)
    on: datetime.date
    inverted: bool = False

    def factor(self) -> Fraction:
        """Exact: 1 base = factor quote (an inverted rate is divided, not rounded)."""
        stored = Fraction(self.rate)
        return 1 / stored if self.inverted else stored


def rate_on(base: str, quote: str, day: datetime.date) -> Rate:
    """The pair's latest rate on or before ``day``. The pair as entered wins; only when it
    has no rate by then is the opposite pair's latest rate used, inverted. The same
    currency is 1 on the day itself. Raises RateNotFound otherwise."""
    base, quote = str(base), str(quote)
    if base == quote:
        return Rate(base, quote, Decimal(1), day)
    for inverted, (b, q) in ((False, (base, quote)), (True, (quote, base))):
        found = (ExchangeRate.objects.filter(base_id=b, quote_id=q, valid_on__lte=day)
                 .order_by("-valid_on").values_list("rate", "valid_on").first())
        if found is not None:
            return Rate(base, quote, found[0], found[1], inverted)
    raise RateNotFound(_("No exchange rate %(base)s/%(quote)s on or before %(day)s.")
                       % {"base": base, "quote": quote, "day": day.isoformat()})


@dataclass(frozen=True)
class Conversion:
    amount: Money
    rate_on: datetime.date


def convert(amount: Money, to: str, day: datetime.date) -> Conversion:
    """``amount`` in ``to`` at the rate of ``day`` (see rate_on), rounded once by the
    project's one rounding (core.money), for showing report totals. Never store the
    result as a balance or a charge: those stay in their own currency."""
    rate = rate_on(str(amount.currency), to, day)
    if rate.base == rate.quote:
        return Conversion(round_money(amount), rate.on)
    return Conversion(round_fraction(Fraction(amount.amount) * rate.factor(), str(to)), rate.on)

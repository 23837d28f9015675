"""Money: the one place where amounts are rounded, and the arithmetic built on it.

Amounts are ``Money`` (a ``Decimal`` with its currency). Calculations keep full
precision; an amount is rounded to its currency's minor unit only when it becomes a
figure someone is charged or shown (a price line, an invoice line, a ledger entry),
and always here, by ``round_money``.

The rule: half away from zero (ROUND_HALF_UP), to the currency's minor unit
(2 places for USD and EUR, 0 for JPY, 3 for BHD), the commercial rounding that
invoices in most countries use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.utils.translation import gettext as _
from djmoney.money import Money
from moneyed import get_currency

ROUNDING = ROUND_HALF_UP

# Stored amounts carry this many decimal places: enough for any currency's minor unit
# and for unit prices below it (0.0001 USD per request).
STORAGE_DECIMAL_PLACES = 4
STORAGE_MAX_DIGITS = 19

# The largest amount anyone may enter or pay, in major units of any currency. Far above
# any hosting bill, and far below what the amount columns hold (15 integer digits), so an
# amount with its tax, fee and a few lines added up still fits.
AMOUNT_CEILING = Decimal("1000000000")


def minor_unit_places(currency: str) -> int:
    """Decimal places of the currency's minor unit: USD 2, JPY 0, BHD 3."""
    sub_unit = get_currency(str(currency)).sub_unit or 1
    return len(str(sub_unit)) - 1


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit_places(currency))


def round_money(amount: Money) -> Money:
    """Round to the currency's minor unit, half away from zero. The only rounding."""
    currency = str(amount.currency)
    return Money(amount.amount.quantize(quantum(currency), rounding=ROUNDING), currency)


def zero(currency: str) -> Money:
    return Money(Decimal(0).quantize(quantum(currency)), str(currency))


def money_sum(amounts: Iterable[Money], currency: str) -> Money:
    """Sum of amounts that must all be in ``currency`` (an empty sum is zero)."""
    total = zero(currency)
    for amount in amounts:
        if str(amount.currency) != str(currency):
            raise ValueError(f"Cannot add {amount.currency} to a sum in {currency}.")
        total += amount
    return total


def split_evenly(total: Money, parts: int) -> list[Money]:
    """Split ``total`` into ``parts`` amounts in minor units that add up to it exactly.

    Every part is the total divided by ``parts`` rounded down to the minor unit; the
    remainder (fewer minor units than there are parts) goes one unit each to the last
    parts, so the earlier parts are never larger than the later ones.
    """
    if parts <= 0:
        raise ValueError("parts must be positive")
    currency = str(total.currency)
    q = quantum(currency)
    total_amount = total.amount.quantize(q, rounding=ROUNDING)
    sign = -1 if total_amount < 0 else 1
    magnitude = abs(total_amount)
    base = (magnitude / parts).quantize(q, rounding=ROUND_DOWN)
    remainder_units = int((magnitude - base * parts) / q)
    amounts = [base] * (parts - remainder_units) + [base + q] * remainder_units
    return [Money(sign * amount, currency) for amount in amounts]


def format_money(amount: Money) -> str:
    """``1.00 USD`` as the seeds write prices; always the currency's minor unit places."""
    rounded = round_money(amount)
    return f"{rounded.amount:,.{minor_unit_places(str(rounded.currency))}f} {rounded.currency}"


def plain_amount(amount: Money) -> str:
    """``1234.50``: the amount as a form field shows it and ``parse_amount`` reads it back
    (the currency's minor-unit places, no thousands separator, no currency)."""
    rounded = round_money(amount)
    return f"{rounded.amount:.{minor_unit_places(str(rounded.currency))}f}"


def round_fraction(value: Fraction, currency: str) -> Money:
    """Round an exact rational amount (from proration) by the same rule as round_money:
    half away from zero, to the currency's minor unit. Exact: no intermediate float or
    truncated Decimal division."""
    places = minor_unit_places(currency)
    scaled = value * (10 ** places)
    units, remainder = divmod(abs(scaled.numerator), scaled.denominator)
    if 2 * remainder >= scaled.denominator:
        units += 1
    sign = -1 if scaled < 0 else 1
    return Money(Decimal(sign * units).scaleb(-places), str(currency))


class AmountError(ValueError):
    """What someone typed is not an amount we take; the message says why, for them."""


# ASCII digits only (``Decimal`` would also take Arabic-Indic or full-width digits, an
# exponent, "NaN" or "Infinity"), one optional point or comma before the decimals.
_AMOUNT = re.compile(
    r"(?P<sign>-?)(?P<whole>[0-9]{1,20})(?:(?P<mark>[.,])(?P<fraction>[0-9]{1,20}))?", re.ASCII)


def parse_amount(raw: object, currency: str, *, signed: bool = False,
                 ceiling: Decimal = AMOUNT_CEILING) -> Money:
    """The one parser of amounts people type: ``25``, ``25.00`` or ``25,00``.

    Accepts ASCII digits with at most the currency's minor-unit places (``1,500`` is not
    one and a half: it is refused as a thousands separator), greater than zero (or, when
    ``signed``, non-zero with an optional leading minus) and no larger than ``ceiling``;
    anything else raises ``AmountError`` with a message fit for the form.
    """
    text = "" if raw is None else str(raw).strip()
    example = plain_amount(Money(25, currency))
    if not text:
        raise AmountError(_("Enter an amount."))
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise AmountError(_("Enter the amount in digits 0-9, without spaces or thousands "
                            "separators, e.g. %(example)s.") % {"example": example})
    if match["sign"] and not signed:
        raise AmountError(_("The amount must be greater than zero."))
    places = minor_unit_places(currency)
    fraction = match["fraction"] or ""
    if len(fraction) > places:
        if match["mark"] == "," and len(fraction) == 3:
            raise AmountError(_("Write the amount without thousands separators, e.g. "
                                "%(example)s.") % {"example": example})
        if places == 0:
            raise AmountError(_("%(currency)s amounts are whole numbers.")
                              % {"currency": currency})
        raise AmountError(_("%(currency)s amounts have at most %(places)s decimal places.")
                          % {"currency": currency, "places": places})
    amount = Decimal(f"{match['whole']}.{fraction or '0'}")
    if amount == 0:
        raise AmountError(_("The amount must not be zero.") if signed
                          else _("The amount must be greater than zero."))
    if amount > ceiling:
        raise AmountError(_("The largest amount is %(ceiling)s.")
                          % {"ceiling": format_money(Money(ceiling, currency))})
    amount = amount.quantize(quantum(currency))
    return Money(-amount if match["sign"] else amount, currency)

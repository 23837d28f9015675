"""The currency directory's entries, with ISO 4217's minor units (py-moneyed's table, the one
core.money rounds by)."""

from __future__ import annotations

from moneyed import get_currency

from billing.models import Currency
from core.money import minor_unit_places

# Active from the start: the usual currencies (the seeds sell in RUB and EUR); staff add any
# other ISO code in the directory. billing/migrations/0011 seeds the same list.
COMMON = ["USD", "EUR", "GBP", "RUB", "CHF", "JPY", "CNY", "INR", "CAD", "AUD", "PLN",
          "CZK", "TRY", "KZT", "UAH", "BYN", "BHD"]


def currencies_ensure(codes=COMMON) -> None:
    """Add the missing ones of ``codes`` as active currencies; existing ones are left as
    staff set them."""
    Currency.objects.bulk_create([
        Currency(code=code, name=get_currency(code).name, minor_unit=minor_unit_places(code))
        for code in codes], ignore_conflicts=True)

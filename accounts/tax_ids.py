"""Validation of VAT and tax identification numbers per country (python-stdnum)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.util import clean

# VAT prefixes that differ from the ISO country code.
_EU_PREFIX = {"GR": "EL", "XI": "XI"}
_FALLBACK = re.compile(r"^[A-Z0-9][A-Z0-9./ -]{1,38}[A-Z0-9]$")


def normalize_vat_id(country: str, number: str) -> str:
    """Return the compact, validated VAT id of a business in ``country``.

    EU numbers are stored with their country prefix (``DE136695976``) and must belong
    to the payer's country; elsewhere the country's own VAT or tax-number rules apply.
    Raises ``ValidationError`` with a message fit for the form.
    """
    number = (number or "").strip().upper()
    if not number:
        return ""
    cc = country.upper()
    if cc.lower() in eu_vat.MEMBER_STATES or cc == "GR":
        prefix = _EU_PREFIX.get(cc, cc)
        compact = clean(number, " -./").upper()
        if not compact[:2].isalpha():
            compact = prefix + compact
        if compact[:2] != prefix:
            raise ValidationError(
                f"This VAT id belongs to another country; a {cc} VAT id starts with {prefix}."
            )
        return _validated(eu_vat, compact, "VAT id")
    module = get_cc_module(cc.lower(), "vat") or get_cc_module(cc.lower(), "tin")
    if module is not None:
        return _validated(module, number, "VAT id")
    return _plain(number, "VAT id")


def normalize_tax_id(country: str, number: str) -> str:
    """Return the validated national tax number (INN, TIN, ...) where rules are known."""
    number = (number or "").strip().upper()
    if not number:
        return ""
    module = get_cc_module(country.lower(), "tin") or get_cc_module(country.lower(), "inn")
    if module is not None:
        return _validated(module, number, "tax id")
    return _plain(number, "tax id")


def _validated(module, number: str, label: str) -> str:
    try:
        return module.validate(number)
    except StdnumError as error:
        raise ValidationError(
            f"This is not a valid {label}: {error.message.rstrip('.').lower()}."
        ) from error


def _plain(number: str, label: str) -> str:
    if not _FALLBACK.match(number):
        raise ValidationError(f"A {label} is 3 to 40 letters and digits.")
    return number

"""Form fields shared by every layer's forms."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _

from core.money import AmountError, parse_amount

# ASCII digits, one optional point: ``Decimal`` alone would take "NaN", "sNaN",
# "Infinity", exponents ("1e400") and any script's digits, and the first three make
# every later comparison raise.
_QUANTITY = re.compile(r"(?P<whole>[0-9]{1,20})(?:[.,](?P<fraction>[0-9]{1,20}))?", re.ASCII)


def parse_quantity(raw: object, *, label: str = "", max_digits: int = 14,
                   decimal_places: int = 3) -> Decimal:
    """The one parser of quantities people type (GB of disk, number of IPs): a plain,
    non-negative decimal that fits a ``quantity_field`` column; ``ValidationError`` with
    a message for the form otherwise."""
    text = "" if raw is None else str(raw).strip()
    prefix = f"{label}: " if label else ""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValidationError(prefix + gettext_now("Enter a number in digits 0-9, e.g. 20."),
                              code="invalid")
    fraction = match["fraction"] or ""
    if len(fraction) > decimal_places or \
            len(match["whole"].lstrip("0")) > max_digits - decimal_places:
        raise ValidationError(prefix + gettext_now("This number is too long."), code="invalid")
    return Decimal(f"{match['whole']}.{fraction or '0'}")


def parse_id(raw: object) -> int | None:
    """A row id from a query string (``?client=12``): ASCII digits within a bigint, else
    None (``str.isdigit`` also takes "²", which ``int`` refuses)."""
    text = "" if raw is None else str(raw).strip()
    if not re.fullmatch(r"[0-9]{1,18}", text, re.ASCII):
        return None
    return int(text)


class QuantityField(forms.DecimalField):
    """A quantity typed by a person, read by ``parse_quantity``."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        return parse_quantity(value, max_digits=self.max_digits or 14,
                              decimal_places=self.decimal_places or 3)

    def validate(self, value):
        forms.Field.validate(self, value)


class AmountField(forms.CharField):
    """An amount of money typed by a person, read by ``core.money.parse_amount``: the
    cleaned value is ``Money`` in the field's currency. Set ``currency`` when the form
    knows it (``form.fields["amount"].currency = client.currency``)."""

    def __init__(self, *, currency: str = "USD", signed: bool = False, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("label", _("Amount"))
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal",
                                                           "autocomplete": "off"}))
        super().__init__(**kwargs)
        self.currency = currency
        self.signed = signed

    def clean(self, value):
        text = super().clean(value)
        if text in self.empty_values:
            return None
        try:
            return parse_amount(text, self.currency, signed=self.signed)
        except AmountError as error:
            raise forms.ValidationError(str(error), code="amount") from error

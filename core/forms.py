"""Form fields shared by every layer's forms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.money import AmountError, parse_amount


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

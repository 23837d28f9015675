"""Forms of the client area's money pages."""

from __future__ import annotations

from django import forms

from core.forms import AmountField


class PromiseForm(forms.Form):
    amount = AmountField()

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].currency = currency

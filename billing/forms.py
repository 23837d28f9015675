"""Forms of the client area's money pages."""

from __future__ import annotations

from decimal import Decimal

from django import forms


class PromiseForm(forms.Form):
    amount = forms.DecimalField(label="Amount", min_value=Decimal("0.01"), decimal_places=2,
                                max_digits=12,
                                widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                                error_messages={"invalid": "Enter the amount as a number, "
                                                           "e.g. 25.00."})

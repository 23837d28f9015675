import uuid

from django import forms

from payments.models import PaymentPurpose
from payments.processing import PaymentError, check_limits, methods_for, parse_amount


class AddFundsForm(forms.Form):
    method = forms.ModelChoiceField(queryset=None, label="Payment method", empty_label=None,
                                    widget=forms.RadioSelect)
    amount = forms.CharField(label="Amount", max_length=20,
                             widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                           "placeholder": "25.00"}))
    save_method = forms.BooleanField(required=False, label="Save this payment method for "
                                                           "later payments")
    # A key per form: the same form submitted twice (double click, two tabs) pays once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, client, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client
        self.fields["method"].queryset = methods_for(client, purpose=PaymentPurpose.TOPUP)
        self.fields["method"].label_from_instance = self._method_label
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)

    @staticmethod
    def _method_label(method) -> str:
        fee = ""
        if method.fee_percent or method.fee_fixed:
            fee = f" (fee {method.fee_percent.normalize()} %"
            fee += f" + {method.fee_fixed.normalize()} {method.currency})" if method.fee_fixed \
                else ")"
        return f"{method.name}{fee}"

    def clean(self):
        cleaned = super().clean()
        method, raw = cleaned.get("method"), cleaned.get("amount")
        if method is None or raw is None:
            return cleaned
        try:
            cleaned["money"] = parse_amount(raw, self.client.provider.currency)
            check_limits(method, cleaned["money"])
        except PaymentError as error:
            self.add_error("amount", str(error))
        return cleaned


class RefundForm(forms.Form):
    amount = forms.CharField(max_length=20)
    reason = forms.CharField(max_length=255)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, payment, **kwargs):
        super().__init__(*args, **kwargs)
        self.payment = payment
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)

    def clean_amount(self):
        try:
            return parse_amount(self.cleaned_data["amount"], self.payment.currency)
        except PaymentError as error:
            raise forms.ValidationError(str(error)) from error

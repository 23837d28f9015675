import uuid

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.forms import AmountField
from payments.models import PaymentPurpose
from payments.processing import PaymentError, check_limits, methods_for

FORM_EXPIRED = _("This form has expired: reload the page and send it again.")


def key_field() -> forms.CharField:
    """A key per form: the same form submitted twice (double click, two tabs) acts once.
    A missing or mangled key is the page's fault, not the person's: say so."""
    return forms.CharField(widget=forms.HiddenInput, max_length=64,
                           error_messages={"required": FORM_EXPIRED, "max_length": FORM_EXPIRED})


def method_label(method) -> str:
    """A method as clients choose it, with its fee and limits."""
    fee = ""
    if method.fee_percent or method.fee_fixed:
        fee = " " + gettext("(fee %(percent)s %%%(fixed)s)") % {
            "percent": method.fee_percent.normalize(),
            "fixed": f" + {method.fee_fixed.normalize()} {method.currency}"
            if method.fee_fixed else ""}
    return f"{method.name}{fee}"


class AddFundsForm(forms.Form):
    method = forms.ModelChoiceField(queryset=None, label=_("Payment method"), empty_label=None,
                                    widget=forms.RadioSelect)
    amount = AmountField(widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                       "placeholder": "25.00",
                                                       "autocomplete": "off"}))
    save_method = forms.BooleanField(required=False, label=_("Save this payment method for "
                                                             "later payments"))
    idempotency_key = key_field()

    def __init__(self, *args, client, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client
        self.fields["method"].queryset = methods_for(client, purpose=PaymentPurpose.TOPUP)
        self.fields["method"].label_from_instance = method_label
        self.fields["amount"].currency = client.provider.currency
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)

    def clean(self):
        cleaned = super().clean()
        method, amount = cleaned.get("method"), cleaned.get("amount")
        if method is not None and amount is not None:
            try:
                check_limits(method, amount)
            except PaymentError as error:
                self.add_error("amount", str(error))
        return cleaned


class InvoicePayForm(forms.Form):
    """Pay an unpaid advance-payment invoice: its amount is fixed, the method is chosen."""

    method = forms.ModelChoiceField(queryset=None, label=_("Pay with"), empty_label=None,
                                    widget=forms.RadioSelect)
    idempotency_key = key_field()

    def __init__(self, *args, client, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].queryset = methods_for(client, purpose=PaymentPurpose.TOPUP)
        self.fields["method"].label_from_instance = method_label
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)


class RefundForm(forms.Form):
    amount = AmountField()
    reason = forms.CharField(label=_("Reason"), max_length=255)
    idempotency_key = key_field()

    def __init__(self, *args, payment, **kwargs):
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.fields["amount"].currency = payment.currency
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)

import uuid

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.forms import AmountField
from payments.models import PaymentMethod, PaymentPurpose
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


# Staff: a payment method's secrets ------------------------------------------------------
SECRET_FIELDS = ("secret_key", "webhook_secret")


class PaymentMethodForm(forms.ModelForm):
    """A payment method with its secrets as "set / not set" and a "replace" input: the
    stored value is never sent to the browser, an empty input keeps it, and a box
    removes it."""

    replace_secret_key = forms.CharField(
        label=_("Replace the gateway secret key"), required=False, max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    remove_secret_key = forms.BooleanField(label=_("Remove the gateway secret key"),
                                           required=False)
    replace_webhook_secret = forms.CharField(
        label=_("Replace the webhook signing secret"), required=False, max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    remove_webhook_secret = forms.BooleanField(label=_("Remove the webhook signing secret"),
                                               required=False)

    class Meta:
        model = PaymentMethod
        fields = ["company", "name", "gateway", "currency", "minimum", "maximum",
                  "fee_percent", "fee_fixed", "for_topup", "for_direct_payment", "can_save",
                  "is_enabled", "settings", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            is_set = bool(self.instance.pk and getattr(self.instance, name))
            self.fields[f"replace_{name}"].help_text = (
                _("Currently set. Leave empty to keep it.") if is_set
                else _("Not set."))

    def clean_settings(self):
        options = self.cleaned_data.get("settings") or {}
        if isinstance(options, dict) and any(name in options for name in SECRET_FIELDS):
            # The options are plain text in the database and in the history of changes.
            raise forms.ValidationError(_("Secrets go in their own fields below, not in "
                                          "the options."))
        return options

    def clean(self):
        cleaned = super().clean()
        for name in SECRET_FIELDS:
            if cleaned.get(f"replace_{name}") and cleaned.get(f"remove_{name}"):
                self.add_error(f"remove_{name}", _("Either replace the secret or remove it, "
                                                    "not both."))
        return cleaned

    def save(self, commit=True):
        for name in SECRET_FIELDS:
            new = (self.cleaned_data.get(f"replace_{name}") or "").strip()
            if new:
                setattr(self.instance, name, new)
            elif self.cleaned_data.get(f"remove_{name}"):
                setattr(self.instance, name, "")
        return super().save(commit=commit)

"""The staff page that records a payment received outside a gateway: the form, then a
confirmation showing what will happen, then the record (payments.manual)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from djmoney.money import Money

from accounts.models import Client
from accounts.reauth import require_reauthentication
from core.money import AMOUNT_CEILING, format_money
from payments.manual import (
    RECORD_PERMISSION,
    REFERENCE_MAX,
    manual_methods,
    manual_payment_check,
    manual_payment_record,
    payable_invoices,
)
from payments.processing import PaymentError


class ManualPaymentForm(forms.Form):
    amount = forms.DecimalField(label=gettext_lazy("Amount received"), max_digits=14,
                                decimal_places=2, max_value=AMOUNT_CEILING)
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3)
    method = forms.ModelChoiceField(label=gettext_lazy("Method"), queryset=None,
                                    empty_label=None)
    reference = forms.CharField(
        label=gettext_lazy("Reference"), max_length=REFERENCE_MAX,
        help_text=gettext_lazy("The bank's reference of the transfer, or the receipt's "
                               "number. The same reference is recorded once."))
    received_on = forms.DateField(label=gettext_lazy("Received on"),
                                  widget=forms.DateInput(attrs={"type": "date"}))
    invoice = forms.ModelChoiceField(
        label=gettext_lazy("Invoice it pays"), queryset=None, required=False,
        empty_label=gettext_lazy("None: add it to the balance"))

    def __init__(self, *args, client: Client, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client
        self.fields["method"].queryset = manual_methods(client)
        self.fields["invoice"].queryset = payable_invoices(client)
        self.fields["invoice"].label_from_instance = lambda invoice: (
            f"{invoice.number} — {format_money(invoice.total_money)}")

    def money(self) -> Money:
        return Money(self.cleaned_data["amount"], self.cleaned_data["currency"].upper())

    def arguments(self) -> dict:
        data = self.cleaned_data
        return {"client": self.client, "method": data["method"], "amount": self.money(),
                "reference": data["reference"], "received_on": data["received_on"],
                "invoice": data["invoice"]}


def record_payment_view(model_admin, request, client_id: int):
    """GET: the form. POST: the confirmation page; POST with ``confirm``: the record."""
    if not request.user.has_perm(RECORD_PERMISSION):
        raise PermissionDenied
    client = get_object_or_404(Client.objects.select_related("provider"), pk=client_id)
    if request.method == "POST":
        require_reauthentication(request)  # credits a client's balance by hand
    today = timezone.localdate()
    form = ManualPaymentForm(request.POST or None, client=client, initial={
        "currency": client.provider.currency, "received_on": today})
    plan = None
    if request.method == "POST" and form.is_valid():
        try:
            if "confirm" in request.POST:
                payment, created = manual_payment_record(
                    **form.arguments(), actor=request.user, today=today, request=request)
                _tell(request, payment, created)
                return redirect("admin:payments_payment_change", payment.pk)
            plan = manual_payment_check(**form.arguments(), today=today)
        except PaymentError as error:
            form.add_error(None, str(error))
    if not form.fields["method"].queryset.exists():
        form.add_error(None, _("No bank or cash method of %(client)s's company takes "
                               "%(currency)s: add a bank transfer payment method first.") % {
            "client": client, "currency": client.provider.currency})
    return render(request, "admin/payments/payment/record.html", {
        **model_admin.admin_site.each_context(request), "client": client, "form": form,
        "plan": plan, "opts": model_admin.model._meta,
        "client_url": reverse("admin:accounts_client_change", args=[client.pk]),
        "action_url": reverse("admin:payments_payment_record", args=[client.pk]),
        "title": _("Record a payment of %(client)s") % {"client": client}})


def _tell(request, payment, created: bool) -> None:
    amount = format_money(payment.amount_money)
    if created:
        messages.success(request, _("%(amount)s was recorded as payment #%(number)s: %(note)s")
                         % {"amount": amount, "number": payment.pk,
                            "note": payment.outcome_note})
    else:
        messages.warning(request, _("This reference was already recorded: payment "
                                    "#%(number)s of %(amount)s. Nothing new was recorded.") % {
            "number": payment.pk, "amount": amount})


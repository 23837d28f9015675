"""Directory -> Currencies in the staff panel: the currencies, their dated exchange rates
and a CSV import of rates (issue 15)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from moneyed import get_currency

from accounts.actionlog import log_action
from accounts.admin_base import StaffModelAdmin
from billing.models import Currency, ExchangeRate, RateSource
from billing.rates_import import MAX_BYTES, RatesFileError, rates_import
from core.money import minor_unit_places


class CurrencyForm(forms.ModelForm):
    class Meta:
        model = Currency
        fields = ["code", "name", "active"]

    def clean_code(self):
        code = self.cleaned_data["code"].strip().upper()
        try:
            get_currency(code)
        except Exception:  # py-moneyed raises its own CurrencyDoesNotExist
            raise ValidationError(_("%(code)s is not an ISO 4217 currency code.")
                                  % {"code": code}) from None
        return code


@admin.register(Currency)
class CurrencyAdmin(StaffModelAdmin):
    form = CurrencyForm
    list_display = ["code", "name", "minor_unit", "active"]
    list_filter = ["active"]
    search_fields = ["code", "name"]
    readonly_fields = ["minor_unit"]

    def get_readonly_fields(self, request, obj=None):
        # The code is the key rates refer to: a currency is switched off, never recoded.
        return ["code", "minor_unit"] if obj else ["minor_unit"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # The minor unit is ISO's, the one core.money rounds by; never typed in.
        obj.minor_unit = minor_unit_places(obj.code)
        super().save_model(request, obj, form, change)


class ExchangeRateForm(forms.ModelForm):
    class Meta:
        model = ExchangeRate
        fields = ["valid_on", "base", "quote", "rate"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("base", "quote"):
            if name in self.fields:
                self.fields[name].queryset = Currency.objects.filter(active=True)

    def clean(self):
        data = super().clean()
        if data.get("base") and data.get("base") == data.get("quote"):
            raise ValidationError(_("Base and quote must be two different currencies."))
        if data.get("rate") is not None and data["rate"] <= 0:
            self.add_error("rate", _("The rate must be greater than zero."))
        return data


class RatesImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file (date,base,quote,rate)"))
    dry_run = forms.BooleanField(label=_("Dry run: check and preview, write nothing"),
                                 required=False, initial=True)


@admin.register(ExchangeRate)
class ExchangeRateAdmin(StaffModelAdmin):
    """Rates are append-only in spirit: a past rate is corrected only by someone with the
    change permission, and the action log keeps its old and new value; none is deleted."""

    form = ExchangeRateForm
    list_display = ["valid_on", "base", "quote", "rate", "source", "entered_by", "created_at"]
    list_filter = ["source", "base", "quote"]
    date_hierarchy = "valid_on"
    list_select_related = ["entered_by"]
    change_list_template = "admin/billing/exchangerate/change_list.html"

    def get_readonly_fields(self, request, obj=None):
        audit = ["source", "entered_by", "created_at"]
        return ["valid_on", "base", "quote", *audit] if obj else audit

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.source, obj.entered_by = RateSource.STAFF, request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view),
                     name="billing_exchangerate_import"), *super().get_urls()]

    def import_view(self, request):
        if not request.user.has_perm("billing.add_exchangerate"):
            raise PermissionDenied
        form = RatesImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            dry_run = form.cleaned_data["dry_run"]
            try:
                if upload.size > MAX_BYTES:
                    raise RatesFileError(_("The file is larger than %(n)s bytes.")
                                       % {"n": MAX_BYTES})
                report = rates_import(upload.read(), dry_run=dry_run,
                                      entered_by=request.user)
            except RatesFileError as error:
                form.add_error("file", str(error))
            else:
                if not dry_run and not report.errors:
                    log_action(actor=request.user, action="exchangerate.imported",
                               request=request, details={
                                   "file": upload.name[:200], "added": report.written,
                                   "unchanged": report.count("unchanged")})
                    messages.success(request, _("%(n)s rates added, %(m)s already there.")
                                     % {"n": report.written,
                                        "m": report.count("unchanged")})
                    return redirect("admin:billing_exchangerate_changelist")
        return render(request, "admin/billing/exchangerate/import.html", {
            **self.admin_site.each_context(request), "form": form, "report": report,
            "title": _("Import exchange rates"), "opts": self.model._meta})

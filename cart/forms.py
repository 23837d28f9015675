"""Forms of ordering: a plan's configuration, a change, a renewal, paying, promo codes."""

from __future__ import annotations

import uuid

from django import forms

from cart.models import Agreement
from payments.models import PaymentPurpose
from payments.processing import methods_for
from services.models import AddonKind, TariffPlan
from services.parameters import PARAMETER_FIELDS
from services.periods import BillingPeriod


def addon_fields(plan: TariffPlan, current: dict | None = None) -> dict[str, forms.Field]:
    """One field per addon the client chooses (metered addons are measured, not chosen)."""
    fields = {}
    current = current or {}
    for addon in plan.addons.filter(is_active=True).exclude(kind=AddonKind.METERED) \
            .select_related("unit", "enumeration"):
        name, value = f"addon_{addon.pk}", current.get(addon.pk)
        unit = f" ({addon.unit.symbol})" if addon.unit else ""
        if addon.kind == AddonKind.QUANTITY:
            fields[name] = forms.DecimalField(
                label=f"{addon.name}{unit}", min_value=addon.minimum, max_value=addon.maximum,
                initial=value.quantity if value else addon.default_value or addon.minimum,
                help_text=f"{addon.included.normalize():f} included; "
                          f"step {addon.step.normalize():f}",
                widget=forms.NumberInput(attrs={"step": addon.step, "min": addon.minimum,
                                                "max": addon.maximum or ""}),
                required=False)
        elif addon.kind == AddonKind.TOGGLE:
            fields[name] = forms.BooleanField(label=addon.name, required=False,
                                              initial=bool(value and value.quantity))
        else:
            choices = [("", "—")] + [(item.pk, item.label) for item in
                                     addon.enumeration.items.filter(is_active=True)]
            fields[name] = forms.ChoiceField(label=addon.name, choices=choices, required=False,
                                             initial=value.choice_id if value else "")
    return fields


class OrderForm(forms.Form):
    def __init__(self, *args, plan: TariffPlan, missing_agreements=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        periods = [(p.period, BillingPeriod(p.period).label) for p in plan.prices.all()]
        self.fields["period"] = forms.ChoiceField(choices=periods, label="Billing period")
        for field in PARAMETER_FIELDS.get(plan.product_type, []):
            self.fields[field.name] = forms.CharField(
                label=field.label, help_text=field.help_text, max_length=253,
                required=not plan.needs_configuration)
        self.fields.update(addon_fields(plan))
        self.agreements = list(missing_agreements)
        for agreement in self.agreements:
            self.fields[f"agreement_{agreement.pk}"] = forms.BooleanField(
                label=f"I accept the {agreement.title}", required=True)

    def raw_values(self) -> dict[str, str]:
        return {key: str(self.data.get(key, "")) for key in self.fields if key.startswith(
            "addon_")}

    def parameters(self) -> dict[str, str]:
        return {field.name: self.data.get(field.name, "")
                for field in PARAMETER_FIELDS.get(self.plan.product_type, [])}


class ChangeForm(forms.Form):
    def __init__(self, *args, service, plans, **kwargs):
        super().__init__(*args, **kwargs)
        self.service = service
        choices = [(plan.pk, plan.name) for plan in plans]
        self.fields["plan"] = forms.ChoiceField(choices=choices, label="Tariff plan",
                                                initial=service.plan_id)
        from services.pricing import service_addon_values

        plan = self.chosen_plan(plans)
        self.fields.update(addon_fields(plan, service_addon_values(service)
                                        if plan.pk == service.plan_id else {}))

    def chosen_plan(self, plans) -> TariffPlan:
        wanted = str(self.data.get("plan") or self.service.plan_id)
        return next((p for p in plans if str(p.pk) == wanted), self.service.plan)

    def raw_values(self) -> dict[str, str]:
        return {key: str(self.data.get(key, "")) for key in self.fields if key.startswith(
            "addon_")}


class RenewForm(forms.Form):
    def __init__(self, *args, service, **kwargs):
        super().__init__(*args, **kwargs)
        periods = [(p.period, BillingPeriod(p.period).label) for p in service.plan.prices.all()
                   if p.period != BillingPeriod.DAY]
        self.fields["period"] = forms.ChoiceField(choices=periods, label="Renew for",
                                                  initial=service.billing_period)


class PayForm(forms.Form):
    """How to pay: the personal account, a saved method, or a payment method."""

    pay_with = forms.ChoiceField(widget=forms.RadioSelect, label="Pay with")
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, client, covers: bool, **kwargs):
        super().__init__(*args, **kwargs)
        choices = []
        if covers:
            choices.append(("balance", "Personal account"))
        for saved in client.saved_methods.filter(is_active=True).select_related("method"):
            if saved.method.is_enabled and saved.method.for_direct_payment:
                choices.append((f"saved:{saved.pk}", f"{saved.label} (saved)"))
        for method in methods_for(client, purpose=PaymentPurpose.ORDER):
            choices.append((f"method:{method.pk}", method.name))
        self.fields["pay_with"].choices = choices
        if choices:
            self.fields["pay_with"].initial = choices[0][0]
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)

    def choice(self) -> tuple[str, int | None]:
        kind, _, pk = self.cleaned_data["pay_with"].partition(":")
        return kind, int(pk) if pk else None


class PromoForm(forms.Form):
    code = forms.CharField(max_length=40, label="Promo code")


class AgreementForm(forms.Form):
    def __init__(self, *args, agreements: list[Agreement], **kwargs):
        super().__init__(*args, **kwargs)
        self.agreements = agreements
        for agreement in agreements:
            self.fields[f"agreement_{agreement.pk}"] = forms.BooleanField(
                label=f"I accept the {agreement.title}")

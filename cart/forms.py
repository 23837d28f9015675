"""Forms of ordering: a plan's configuration, a change, a renewal, paying, promo codes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from djmoney.money import Money

from cart.models import Agreement
from cart.order_payments import PayChoice, PayPlan, pay_plan, plan_refusal
from core.forms import QuantityField
from core.money import format_money
from payments.forms import key_field
from payments.models import PaymentMethod, PaymentPurpose, SavedPaymentMethod
from payments.processing import methods_for
from services.models import AddonKind, TariffPlan
from services.parameters import PARAMETER_FIELDS
from services.periods import BillingPeriod
from services.pricing import service_addon_values


def addon_fields(plan: TariffPlan, current: dict | None = None) -> dict[str, forms.Field]:
    """One field per addon the client chooses (metered addons are measured, not chosen)."""
    fields = {}
    current = current or {}
    for addon in plan.addons.filter(is_active=True).exclude(kind=AddonKind.METERED) \
            .select_related("unit", "enumeration"):
        name, value = f"addon_{addon.pk}", current.get(addon.pk)
        unit = f" ({addon.unit.symbol})" if addon.unit else ""
        if addon.kind == AddonKind.QUANTITY:
            fields[name] = QuantityField(
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


def _raw_addon_values(form: forms.Form) -> dict[str, str]:
    """The addon values as typed, for ``operations.clean_addon_values`` (which checks
    the plan's steps); call it on a form whose addon fields are valid."""
    return {key: str(form.data.get(key, "")) for key in form.fields if key.startswith(
        "addon_")}


def _pricing_problem(form: forms.Form, names: tuple[str, ...]) -> str:
    """The errors of the fields a price is worked out from, in one line ("" when they
    are valid): a live preview prices only what passed them, whatever else is missing."""
    if not form.is_bound:
        return ""
    form.is_valid()
    return "; ".join(f"{form.fields[name].label}: {error}"
                     for name, errors in form.errors.items()
                     if name in names or name.startswith("addon_") for error in errors)


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

    raw_values = _raw_addon_values

    def pricing_problem(self) -> str:
        return _pricing_problem(self, ("period",))

    def parameters(self) -> dict[str, str]:
        return {field.name: self.cleaned_data.get(field.name, "")
                for field in PARAMETER_FIELDS.get(self.plan.product_type, [])}


class ChangeForm(forms.Form):
    def __init__(self, *args, service, plans, **kwargs):
        super().__init__(*args, **kwargs)
        self.service = service
        choices = [(plan.pk, plan.name) for plan in plans]
        self.fields["plan"] = forms.ChoiceField(choices=choices, label="Tariff plan",
                                                initial=service.plan_id)
        plan = self.chosen_plan(plans)
        self.fields.update(addon_fields(plan, service_addon_values(service)
                                        if plan.pk == service.plan_id else {}))

    def chosen_plan(self, plans) -> TariffPlan:
        wanted = str(self.data.get("plan") or self.service.plan_id)
        return next((p for p in plans if str(p.pk) == wanted), self.service.plan)

    raw_values = _raw_addon_values

    def pricing_problem(self) -> str:
        return _pricing_problem(self, ("plan",))


class RenewForm(forms.Form):
    def __init__(self, *args, service, **kwargs):
        super().__init__(*args, **kwargs)
        periods = [(p.period, BillingPeriod(p.period).label) for p in service.plan.prices.all()
                   if p.period != BillingPeriod.DAY]
        self.fields["period"] = forms.ChoiceField(choices=periods, label="Renew for",
                                                  initial=service.billing_period)


@dataclass(frozen=True)
class PayOption:
    """One way to pay, with what it costs the client: in full, and (when the balance
    pays part) with the balance first; a plan the method's limits refuse says why."""

    value: str
    label: str
    method: PaymentMethod | None
    saved: SavedPaymentMethod | None
    full: PayPlan | None
    combined: PayPlan | None

    def _text(self, plan: PayPlan | None) -> tuple[str, str]:
        """(summary, button) of a plan; no button when the method refuses it."""
        if plan is None:
            return "", ""
        refusal = plan_refusal(plan, self.method)
        if refusal:
            return refusal, ""
        return plan_summary(plan, self.method.name if self.method else ""), plan_button(plan)

    @property
    def summary_full(self) -> str:
        return self._text(self.full)[0]

    @property
    def button(self) -> str:
        return self._text(self.full)[1] if self.full else _("Pay")

    @property
    def summary_combined(self) -> str:
        return self._text(self.combined)[0]

    @property
    def button_combined(self) -> str:
        return self._text(self.combined)[1]

    @property
    def unavailable(self) -> bool:
        """Neither in full nor with the balance first can this method pay."""
        return self.full is not None and not self.button and not self.button_combined


def plan_summary(plan: PayPlan, method_name: str) -> str:
    """What a plan takes from where, in the words the client confirms."""
    parts = []
    if plan.from_balance.amount > 0:
        parts.append(_("%(amount)s from your personal account") % {
            "amount": format_money(plan.from_balance)})
    if plan.by_method.amount > 0:
        part = _("%(amount)s by %(method)s") % {"amount": format_money(plan.by_method),
                                                "method": method_name}
        if plan.fee.amount > 0:
            part += " " + _("(+ %(fee)s fee)") % {"fee": format_money(plan.fee)}
        parts.append(part)
    text = " + ".join(parts)
    if plan.surplus.amount > 0:
        text += ". " + _("%(surplus)s of it stays on your balance (the smallest payment by "
                         "%(method)s).") % {"surplus": format_money(plan.surplus),
                                            "method": method_name}
    return text


def plan_button(plan: PayPlan) -> str:
    """The button says what leaves the client's pocket now: the gateway's charge, or
    the balance's part when nothing goes through a gateway."""
    amount = plan.charged if plan.by_method.amount > 0 else plan.from_balance
    return _("Pay %(amount)s") % {"amount": format_money(amount)}


class PayForm(forms.Form):
    """How to pay a total: the personal account (when it covers it), a saved method, or
    a payment method; with a method, the client may use the balance first. Every option
    states what it takes from where before the client confirms."""

    pay_with = forms.ChoiceField(widget=forms.RadioSelect, label=gettext_lazy("Pay with"))
    use_balance = forms.BooleanField(required=False, initial=True,
                                     label=gettext_lazy("Use my balance first"))
    # What could be spent when the page was shown: the split confirmed was worked out
    # from it, so a balance that moved meanwhile is noticed, not silently re-split.
    balance_seen = forms.DecimalField(widget=forms.HiddenInput, required=False,
                                      max_digits=19, decimal_places=4)
    idempotency_key = key_field()

    def __init__(self, *args, client, available: Money, total: Money | None = None,
                 **kwargs):
        """``total`` is what the page shows the options for; a submitted form may leave
        it out (the order's own total is paid, priced again on the server)."""
        super().__init__(*args, **kwargs)
        self.client = client
        self.total, self.available = total, available
        self.covers = total is None or total.amount <= 0 or available >= total
        self.can_combine = total is not None and 0 < available.amount < total.amount
        self.options = self._options()
        self.fields["pay_with"].choices = [(o.value, o.label) for o in self.options]
        if self.options:
            self.fields["pay_with"].initial = self.options[0].value
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
            self.initial.setdefault("balance_seen", available.amount)

    def _options(self) -> list[PayOption]:
        def plans(method):
            if self.total is None:
                return None, None
            full = pay_plan(total=self.total, available=self.available, method=method,
                            use_balance=False)
            combined = pay_plan(total=self.total, available=self.available, method=method,
                                use_balance=True) if self.can_combine else None
            return full, combined

        options = []
        charges_nothing = self.total is not None and self.total.amount <= 0
        if self.covers:
            full = pay_plan(total=self.total, available=self.available, method=None,
                            use_balance=True) if self.total is not None else None
            options.append(PayOption("balance", _("Personal account"), None, None, full, None))
        if charges_nothing:  # a downgrade's credit covers it: nothing for a method to pay
            return options
        for saved in self.client.saved_methods.filter(
                is_active=True, method__is_enabled=True,
                method__for_direct_payment=True).select_related("method"):
            options.append(PayOption(f"saved:{saved.pk}", _("%(card)s (saved)") % {
                "card": saved.label}, saved.method, saved, *plans(saved.method)))
        for method in methods_for(self.client, purpose=PaymentPurpose.ORDER):
            options.append(PayOption(f"method:{method.pk}", method.name, method, None,
                                     *plans(method)))
        return options

    @property
    def selected(self) -> PayOption | None:
        if self.is_bound:
            value = self.data.get("pay_with")
        else:  # the first way that can pay
            value = next((o.value for o in self.options if not o.unavailable), None)
        return next((o for o in self.options if o.value == value), None)

    @property
    def uses_balance(self) -> bool:
        if not self.can_combine:
            return False
        return bool(self.data.get("use_balance")) if self.is_bound else True

    def summary(self) -> str:
        option = self.selected
        if option is None:
            return ""
        return option.summary_combined if self.uses_balance and option.combined \
            else option.summary_full

    def button(self) -> str:
        option = self.selected
        if option is None:
            return ""
        return option.button_combined if self.uses_balance and option.combined \
            else option.button

    def problem(self) -> str:
        """What is wrong with a submitted form, in one sentence."""
        if self["pay_with"].errors:
            return _("Choose how to pay.")
        return next((str(errors[0]) for errors in self.errors.values()), "")

    def choice(self) -> PayChoice:
        option = next(o for o in self.options if o.value == self.cleaned_data["pay_with"])
        if option.method is None:
            return PayChoice("balance")
        return PayChoice("saved" if option.saved else "method", method=option.method,
                         saved=option.saved,
                         use_balance=self.cleaned_data.get("use_balance", False),
                         balance_seen=self.cleaned_data.get("balance_seen"))


class PromoForm(forms.Form):
    code = forms.CharField(max_length=40, label="Promo code", strip=True)


class AgreementForm(forms.Form):
    def __init__(self, *args, agreements: list[Agreement], **kwargs):
        super().__init__(*args, **kwargs)
        self.agreements = agreements
        for agreement in agreements:
            self.fields[f"agreement_{agreement.pk}"] = forms.BooleanField(
                label=f"I accept the {agreement.title}")

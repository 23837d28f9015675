"""Catalog prices: what a plan with its addons costs for one billing period.

This is the base of the one pricing function: the cart adds discounts, promo codes and
taxes on top of these lines (cart issue), invoices and the staff preview use the same.
Every line is rounded once, by ``core.money.round_money``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from djmoney.money import Money

from core.money import money_sum, round_money, zero
from services.models import Addon, AddonKind, PlanPrice, Service, TariffPlan


class PriceNotAvailable(Exception):
    """The plan or an addon has no price for the requested period."""


@dataclass(frozen=True)
class PriceLine:
    kind: str  # "plan", "setup" or "addon"
    description: str
    amount: Money
    addon_id: int | None = None


@dataclass(frozen=True)
class AddonValue:
    quantity: Decimal = Decimal(0)
    choice_id: int | None = None


def plan_price(plan: TariffPlan, period: str) -> PlanPrice:
    for price in plan.prices.all():  # prefetched by list selectors
        if price.period == period:
            return price
    raise PriceNotAvailable(f"{plan.name} has no price for the period '{period}'.")


def addon_amount(addon: Addon, period: str, value: AddonValue) -> Money:
    """The addon's cost for one period: units above the included amount, an 'on'
    toggle, or the chosen item. Metered addons cost nothing up front (overage later)."""
    currency = addon.plan.currency
    if addon.kind == AddonKind.METERED:
        return zero(currency)
    if addon.kind == AddonKind.TOGGLE and not value.quantity:
        return zero(currency)
    prices = [p for p in addon.prices.all() if p.period == period]
    if addon.kind == AddonKind.CHOICE:
        prices = [p for p in prices if p.choice_id == value.choice_id]
        if not prices:
            return zero(currency)  # a choice without a price is free
    if not prices:
        raise PriceNotAvailable(f"{addon.name} has no price for the period '{period}'.")
    unit_price = prices[0].price
    if addon.kind == AddonKind.QUANTITY:
        billable = max(Decimal(0), value.quantity - addon.included)
        return round_money(unit_price * billable)
    return round_money(unit_price)


def price_lines(plan: TariffPlan, period: str, values: dict[int, AddonValue], *,
                include_setup: bool, renewal: bool = False) -> list[PriceLine]:
    price = plan_price(plan, period)
    base = price.renewal_price if renewal and price.renewal_price is not None else price.price
    lines = [PriceLine("plan", f"{plan.name}, {price.get_period_display()}", round_money(base))]
    if include_setup and price.setup_fee is not None and price.setup_fee.amount:
        lines.append(PriceLine("setup", f"Setup of {plan.name}", round_money(price.setup_fee)))
    for addon in plan.addons.all():
        if not addon.is_active or addon.pk not in values:
            continue
        amount = addon_amount(addon, period, values[addon.pk])
        if amount.amount:
            lines.append(PriceLine("addon", addon.name, amount, addon.pk))
    return lines


def service_addon_values(service: Service) -> dict[int, AddonValue]:
    return {value.addon_id: AddonValue(value.quantity, value.choice_id)
            for value in service.addon_values.all()}


def renewal_cost(service: Service) -> Money | None:
    """What one more period of the service costs, or None if the plan has no price."""
    try:
        lines = price_lines(service.plan, service.billing_period, service_addon_values(service),
                            include_setup=False, renewal=True)
    except PriceNotAvailable:
        return None
    return money_sum((line.amount for line in lines), service.plan.currency)

"""The one pricing function: what a set of operations costs a client today.

The cart, checkout, invoices and the staff price preview all call ``quote``: catalog
prices (services.pricing) for new services and renewals, the prorated difference for a
configuration change, then the client group's discount and the promo code, then the
tax of the company and the payer. Every figure is rounded by core.money, once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from django.utils.translation import get_language
from djmoney.money import Money

from accounts.models import Client, Company
from accounts.selectors import company_for_provider
from billing.calculators import LineInput, daily_amount, document_totals, prorate
from billing.invoicing import default_payer
from billing.models import GroupDiscount
from billing.selectors import (
    best_discount_percent,
    credit_source,
    group_discounts,
    group_discounts_by_client,
)
from billing.taxes import NO_TAX, TaxTreatment, client_treatments, tax_of, tax_treatment
from cart.models import ItemKind, Order, OrderStatus, PeriodCost, PromoCode
from core.money import money_sum, round_money, zero
from services.models import (
    RECONFIGURABLE_STATUSES,
    RENEWABLE_STATUSES,
    Charging,
    Service,
    TariffPlan,
)
from services.periods import BillingPeriod, add_months, add_period
from services.pricing import (
    AddonValue,
    PriceLine,
    PriceNotAvailable,
    price_lines,
    service_addon_values,
)


class ItemError(Exception):
    """An operation that cannot be priced or bought now; the message says why."""


@dataclass(frozen=True)
class ItemSpec:
    """One operation to price. A new service being configured (not saved yet) is given
    by ``plan``, ``period`` and ``values`` with no ``service``."""

    kind: str
    service: Service | None = None
    period: str = ""
    new_plan: TariffPlan | None = None
    values: dict[int, AddonValue] | None = None  # new: its addons; change: the new values
    plan: TariffPlan | None = None
    key: str = ""

    @property
    def tariff(self) -> TariffPlan:
        return self.new_plan or self.plan or self.service.plan


@dataclass
class ItemQuote:
    spec: ItemSpec
    description: str
    lines: list[PriceLine]
    base: Money
    period_start: date | None = None
    period_end: date | None = None
    discount: Money | None = None
    derivation: dict = field(default_factory=dict)
    discountable: bool = True
    # What the item leaves its paid period costing, exactly, and charged (net before
    # discounts): cart.models.PeriodCost, written when the order is paid.
    cost_period_start: date | None = None
    cost_owed: Fraction | None = None
    cost_charged: Money | None = None

    @property
    def net(self) -> Money:
        return self.base - (self.discount or zero(str(self.base.currency)))


@dataclass
class Quote:
    items: list[ItemQuote]
    currency: str
    company: Company | None
    treatment: TaxTreatment
    promo: PromoCode | None = None
    promo_error: str = ""
    net_lines: list[Money] = field(default_factory=list)
    tax_lines: list[Money] = field(default_factory=list)

    @property
    def base(self) -> Money:
        return money_sum((i.base for i in self.items), self.currency)

    @property
    def discount(self) -> Money:
        return money_sum((i.discount or zero(self.currency) for i in self.items), self.currency)

    @property
    def net(self) -> Money:
        return money_sum(self.net_lines, self.currency)

    @property
    def tax(self) -> Money:
        return money_sum(self.tax_lines, self.currency)

    @property
    def total(self) -> Money:
        return self.net + self.tax


# Prices of one operation ---------------------------------------------------------------------
def _sum(lines: list[PriceLine], currency: str) -> Money:
    return money_sum((line.amount for line in lines), currency)


def _trial_eligible(client: Client, plan: TariffPlan, service: Service | None) -> bool:
    others = Service.objects.filter(client=client, plan=plan)
    if service is not None:
        others = others.exclude(pk=service.pk)
    return bool(plan.trial_days) and not others.exists()


def _new(spec: ItemSpec, today: date, client: Client) -> ItemQuote:
    service, plan = spec.service, spec.tariff
    currency = plan.currency
    period = spec.period or service.billing_period
    name = service.name if service is not None else plan.name
    if not plan.is_orderable:
        raise ItemError(f"{plan.name} can no longer be ordered.")
    if _trial_eligible(client, plan, service):
        end = today + timedelta(days=plan.trial_days)
        return ItemQuote(spec, f"{plan.name}: {plan.trial_days}-day trial ({name})",
                         [PriceLine("plan", "Trial", zero(currency))], zero(currency), today,
                         end, derivation={"tariff": plan.name, "trial_days": plan.trial_days})
    values = spec.values if spec.values is not None else service_addon_values(service)
    lines = price_lines(plan, period, values, include_setup=True)
    if plan.charging == Charging.DAILY:
        # A daily service is paid day by day: the order pays its first day (the clock
        # does not charge that day again: a daily charge is unique per service and day).
        setup = [line for line in lines if line.kind == "setup"]
        period_price = _sum([line for line in lines if line.kind != "setup"], currency)
        first_day = daily_amount(period_price, period, today)
        lines = [PriceLine("plan", f"First day ({today})", first_day), *setup]
        return ItemQuote(spec, f"{plan.name}, charged daily ({name})", lines,
                         _sum(lines, currency), today, today + timedelta(days=1),
                         derivation={"rule": "daily", "tariff": plan.name, "period": period,
                                     "period_price": str(period_price.amount)})
    end = add_period(today, period) if plan.charging == Charging.PERIOD else None
    recurring = _sum([line for line in lines if line.kind != "setup"], currency)
    quoted = ItemQuote(spec, f"{plan.name}, {BillingPeriod(period).label} ({name})",
                       lines, _sum(lines, currency), today, end,
                       derivation={"tariff": plan.name, "period": period,
                                   "recurring_net": str(recurring.amount),
                                   "lines": [(line.description, str(line.amount.amount))
                                             for line in lines]})
    if end is not None:
        quoted.cost_period_start, quoted.cost_owed = today, Fraction(recurring.amount)
        quoted.cost_charged = recurring
    return quoted


def _renewal(spec: ItemSpec, today: date, client: Client) -> ItemQuote:
    service, plan = spec.service, spec.service.plan
    if plan.charging == Charging.DAILY:
        raise ItemError("Services that are charged daily cannot be renewed: they are paid "
                        "from the personal account day by day.")
    if service.status not in RENEWABLE_STATUSES:
        raise ItemError(f"{service.name} is {service.status_label.lower()} and cannot be "
                        "renewed.")
    period = spec.period or service.billing_period
    start, end = renewal_period(service, period, today)
    lines = price_lines(plan, period, service_addon_values(service), include_setup=False,
                        renewal=True)
    recurring = _sum(lines, plan.currency)
    return ItemQuote(spec, renewal_description(service, period), lines, recurring, start, end,
                     derivation={"tariff": plan.name, "period": period,
                                 "recurring_net": str(recurring.amount),
                                 "from": str(start), "to": str(end)},
                     cost_period_start=start, cost_owed=Fraction(recurring.amount),
                     cost_charged=recurring)


def renewal_period(service: Service, period: str, today: date) -> tuple[date, date]:
    """The period a renewal pays: from the expiry (today for a service that has none) for
    one billing period, keeping the anchor day (services.periods)."""
    start = service.expires_on or today
    return start, add_period(start, period, anchor_day=service.anchor_day or start.day)


def renewal_description(service: Service, period: str, *, language: str | None = None
                        ) -> str:
    """What a renewal is called on charges and documents; ``language`` is the active one
    unless given (the clock names thousands of renewals and looks it up once)."""
    return f"Renewal of {service.name}, {_period_label(period, language or get_language())}"


@functools.cache
def _period_label(period: str, language: str | None) -> str:
    """A period's name in a language (the clock names thousands of renewals a chunk)."""
    return str(BillingPeriod(period).label)


def _auto_renew(spec: ItemSpec, today: date, client: Client) -> ItemQuote:
    quote = _renewal(spec, today, client)
    quote.description = f"Auto-renewal of {spec.service.name}: first payment"
    return quote


def _change(spec: ItemSpec, today: date, client: Client) -> ItemQuote:
    service = spec.service
    plan = spec.new_plan or service.plan
    currency = plan.currency
    if service.status not in RECONFIGURABLE_STATUSES:
        raise ItemError(f"{service.name} is {service.status_label.lower()}; its "
                        "configuration cannot change now.")
    old_values = service_addon_values(service)
    new_values = {**old_values, **(spec.values or {})}
    if plan.pk != service.plan_id:
        new_values = {k: v for k, v in new_values.items()
                      if any(a.pk == k for a in plan.addons.all())}
    if plan.charging == Charging.DAILY or service.plan.charging == Charging.DAILY:
        return ItemQuote(spec, f"New configuration of {service.name} (daily price from "
                               "tomorrow)", [], zero(currency), today, None, discountable=False,
                         derivation={"rule": "daily: the new price applies from the next day"})
    old_price = _sum(price_lines(service.plan, service.billing_period, old_values,
                                 include_setup=False), currency)
    new_price = _sum(price_lines(plan, service.billing_period, new_values,
                                 include_setup=False), currency)
    start, end = current_period(service, today)
    owed_before, charged_before = _period_state(service, start, old_price)
    try:
        result = prorate(period_start=start, period_end=end, change_on=today,
                         old_price=old_price, new_price=new_price, owed_before=owed_before,
                         charged_before=charged_before)
    except ValueError as error:  # paid more than one period ahead: no period holds today
        raise ItemError(f"{service.name} is paid until {service.expires_on}, beyond its "
                        f"current period: its configuration can change from {start}.") \
            from error
    charge, owed = result.charge, result.owed_exact
    if charge.amount < 0 and not service.plan.downgrade_credit:
        # No credit on this plan: the period keeps costing what was paid for it.
        charge, owed = zero(currency), owed_before
    return ItemQuote(spec, f"Configuration change of {service.name} for {result.remaining_days}"
                           f" of {result.total_days} days", [PriceLine("change", "Proration",
                                                                       charge)],
                     charge, today, end, discountable=charge.amount > 0,
                     derivation={"rule": "(new - old) x remaining days / period days, "
                                         "charged as the rounded period total less what "
                                         "was charged",
                                 "old_price": str(old_price.amount),
                                 "new_price": str(new_price.amount),
                                 "remaining_days": result.remaining_days,
                                 "period_days": result.total_days,
                                 "owed_exact": f"{owed.numerator}/{owed.denominator}",
                                 "net": str(charge.amount),
                                 "charged_before": str(charged_before.amount),
                                 "period_start": str(start), "period_end": str(end)},
                     cost_period_start=start, cost_owed=owed,
                     cost_charged=charged_before + charge)


def current_period(service: Service, today: date) -> tuple[date, date]:
    """The paid period a change falls into: [start, expiry)."""
    end = service.expires_on
    if end is None or end <= today:
        raise ItemError(f"{service.name} has no paid period running; renew it first.")
    months = BillingPeriod(service.billing_period).months
    start = add_months(end, -months, anchor_day=service.anchor_day or end.day) if months \
        else end - timedelta(days=1)
    return start, end


def _period_state(service: Service, start: date, old_price: Money) -> tuple[Fraction, Money]:
    """What the period costs so far, exactly, and what was charged for it (net), as its
    PeriodCost keeps them. A period paid before that record existed costs its current
    configuration's price, which is taken as both."""
    cost = PeriodCost.objects.filter(service=service, period_start=start).first()
    if cost is None:
        return Fraction(old_price.amount), old_price
    return cost.owed, cost.charged_money


_PRICERS = {ItemKind.NEW: _new, ItemKind.RENEWAL: _renewal, ItemKind.CHANGE: _change,
            ItemKind.AUTO_RENEW: _auto_renew}


def item_quote(spec: ItemSpec, today: date, client: Client) -> ItemQuote:
    try:
        return _PRICERS[spec.kind](spec, today, client)
    except PriceNotAvailable as error:
        raise ItemError(str(error)) from error


# Discounts -------------------------------------------------------------------------------------
def _applies(scope_plans, product_types, plan: TariffPlan) -> bool:
    plan_ids = {p.pk for p in scope_plans}
    if plan_ids and plan.pk not in plan_ids:
        return False
    return not product_types or plan.product_type in product_types


def promo_problem(promo: PromoCode, client: Client, when) -> str:
    """Why the code cannot be used now, or '' if it can."""
    if not promo.is_active:
        return "This promo code is no longer valid."
    if promo.valid_from and when < promo.valid_from:
        return "This promo code is not valid yet."
    if promo.valid_until and when > promo.valid_until:
        return "This promo code has expired."
    if promo.max_uses is not None and promo.uses >= promo.max_uses:
        return "This promo code has been used up."
    if promo.max_uses_per_client is not None and promo.redemptions.filter(
            client=client).count() >= promo.max_uses_per_client:
        return "You have already used this promo code."
    if promo.first_order_only and Order.objects.filter(client=client,
                                                       status=OrderStatus.PAID).exists():
        return "This promo code is for a first order only."
    if promo.kind == PromoCode.Kind.FIXED and promo.currency != client.provider.currency:
        return "This promo code is not valid in your currency."
    return ""


def _apply_discounts(items: list[ItemQuote], context: PricingContext,
                     promo: PromoCode | None) -> None:
    currency = context.currency
    for item in items:
        percent = best_discount_percent(context.discounts, item.spec.tariff) \
            if item.discountable else Decimal(0)
        item.discount = round_money(item.base * percent / 100) if percent else zero(currency)
        if percent:
            item.derivation["group_discount_percent"] = str(percent)
    if promo is None:
        return
    eligible = [i for i in items if i.discountable and i.net.amount > 0
                and _applies(promo.plans.all(), promo.product_types, i.spec.tariff)
                and (not promo.new_services_only or i.spec.kind == ItemKind.NEW)]
    if promo.kind == PromoCode.Kind.PERCENT:
        for item in eligible:
            off = round_money(item.net * promo.value / 100)
            item.discount += off
            item.derivation["promo"] = {"code": promo.code, "percent": str(promo.value),
                                        "amount": str(off.amount)}
        return
    remaining = min(Money(promo.value, currency), money_sum((i.net for i in eligible),
                                                            currency))
    for index, item in enumerate(eligible):
        share = remaining if index == len(eligible) - 1 else min(item.net, round_money(
            remaining * item.net.amount / money_sum((i.net for i in eligible[index:]),
                                                    currency).amount))
        item.discount += share
        item.derivation["promo"] = {"code": promo.code, "amount": str(share.amount)}
        remaining -= share


# The quote -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PricingContext:
    """What a client's prices depend on besides the operations: its currency, its
    company's tax treatment of it, and its groups' discounts running at the instant."""

    client: Client
    currency: str
    company: Company | None
    treatment: TaxTreatment
    discounts: list[GroupDiscount]


def pricing_context(client: Client, when: datetime) -> PricingContext:
    company = company_for_provider(client.provider)
    treatment = tax_treatment(company, default_payer(client)) if company else NO_TAX
    return PricingContext(client, client.provider.currency, company, treatment,
                          group_discounts(client, when))


def pricing_contexts(clients: list[Client], when: datetime) -> dict[int, PricingContext]:
    """``pricing_context`` of many clients in a few queries (the clock's batches); their
    providers are expected loaded."""
    companies = {provider_id: company_for_provider(provider_id)
                 for provider_id in {client.provider_id for client in clients}}
    treatments: dict[int, TaxTreatment] = {}
    for company in {c for c in companies.values() if c is not None}:
        treatments |= client_treatments(company, [
            client.pk for client in clients if companies[client.provider_id] == company])
    discounts = group_discounts_by_client([client.pk for client in clients], when)
    return {client.pk: PricingContext(
        client, client.provider.currency, companies[client.provider_id],
        treatments.get(client.pk, NO_TAX), discounts[client.pk]) for client in clients}


def quote(*, client: Client, specs: list[ItemSpec], today: date, when: datetime,
          promo: PromoCode | None = None) -> Quote:
    """Price operations for the client: each priced, discounted, taxed, in one figure.
    ``today`` prices the periods, ``when`` is the instant discounts and promo codes are
    valid at: both from the caller (a view's now, the clock's day)."""
    return quote_in(pricing_context(client, when), specs, today=today, when=when, promo=promo)


def quote_in(context: PricingContext, specs: list[ItemSpec], *, today: date, when: datetime,
             promo: PromoCode | None = None) -> Quote:
    """``quote`` with the client's context given: the clock prices a batch of renewals
    with contexts loaded at once, by this same function."""
    client, currency, company = context.client, context.currency, context.company
    items = [item_quote(spec, today, client) for spec in specs]
    problem = promo_problem(promo, client, when) if promo is not None else ""
    _apply_discounts(items, context, None if problem else promo)
    treatment = context.treatment
    credit_rates = {index: _credit_rate(item, treatment)
                    for index, item in enumerate(items) if item.net.amount < 0}
    nets, taxes = order_taxes([i.net for i in items], currency=currency, rate=treatment.rate,
                              rounding=company.tax_rounding if company else "line",
                              credit_rates=credit_rates)
    return Quote(items, currency, company, treatment, None if problem else promo, problem,
                 nets, taxes)


def _credit_rate(item: ItemQuote, treatment: TaxTreatment) -> Decimal:
    """A credit gives back tax at the rate of the invoice it is noted against (the one
    that charged the period), not at today's."""
    source = credit_source(item.spec.service) if item.spec.service is not None else None
    return source.tax_rate if source is not None else treatment.rate


def order_taxes(nets: list[Money], *, currency: str, rate: Decimal, rounding: str,
                credit_rates: dict[int, Decimal] | None = None
                ) -> tuple[list[Money], list[Money]]:
    """The tax of each line of an order, as the documents that will carry them compute it:
    the lines that charge are one invoice (taxed by the company's rounding, per line or per
    document); each line that credits (a downgrade) is a credit note of its own, at the
    rate of the invoice it credits (``credit_rates`` by line, else ``rate``). The order,
    its invoice, its debit and its credit notes all read these figures."""
    credit_rates = credit_rates or {}
    charged = [index for index, net in enumerate(nets) if net.amount > 0]
    invoice = document_totals([LineInput("", nets[i]) for i in charged], currency=currency,
                              tax_rate=rate, rounding=rounding)
    taxes = [tax_of(net, credit_rates.get(index, rate)) if net.amount < 0 else zero(currency)
             for index, net in enumerate(nets)]
    for index, line in zip(charged, invoice.lines, strict=True):
        taxes[index] = line.tax
    return [round_money(net) for net in nets], taxes

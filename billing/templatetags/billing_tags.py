import contextlib
from decimal import Decimal

from django import template
from django.utils import timezone
from djmoney.money import Money

from billing.models import LedgerAccount
from billing.selectors import best_discount_percent, group_discounts, movements
from core.money import format_money, round_money, zero
from services.pricing import renewal_cost

register = template.Library()


def _account(client) -> LedgerAccount | None:
    return LedgerAccount.objects.filter(client=client).first()


@register.simple_tag
def client_balance(client) -> Money:
    """The balance of the client's personal account (zero before its first movement)."""
    account = _account(client)
    return account.balance_money if account is not None else zero(client.currency)


@register.simple_tag
def client_credit_limit(client) -> Money:
    account = _account(client)
    return account.credit_limit_money if account is not None else zero(client.currency)


@register.simple_tag(takes_context=True)
def renewal_price(context, service) -> str:
    """What the next period costs the client, as the seeds write it ('0.99 USD/day'): the
    catalog price less the client group's discount, by the rule renewals and daily
    charges apply. A list of services looks the client's discounts up once per request."""
    cost = renewal_cost(service)
    if cost is None:
        return "—"
    percent = best_discount_percent(_client_discounts(context, service.client_id), service.plan)
    if percent:
        cost -= round_money(cost * percent / 100)
    return f"{format_money(cost)}/{service.get_billing_period_display()}"


def _client_discounts(context, client_id: int) -> list:
    request = context.get("request")
    cache = getattr(request, "_group_discounts", None) if request is not None else None
    if cache is None:
        cache = {}
        if request is not None:
            request._group_discounts = cache
    if client_id not in cache:
        cache[client_id] = group_discounts(client_id, timezone.now())
    return cache[client_id]


@register.inclusion_tag("billing/partials/_movements.html")
def recent_movements(client, limit: int = 8):
    return {"entries": list(movements(client=client, limit=limit))}


# How a charge's derivation reads to a client: its keys in words, in this order first.
_DERIVATION_LABELS = {
    "rule": "Rule", "tariff": "Tariff", "tariff_version": "Tariff as of", "period": "Period",
    "period_price": "Price for the period", "days": "Days in the month",
    "day": "Day of the month", "discount_percent": "Discount, %", "lines": "Price lines",
    "recurring_net": "Recurring price", "trial_days": "Trial days", "tax": "Tax",
    "base": "Taxable base", "old_price": "Old price", "new_price": "New price",
    "net": "Net", "tax_rate": "Tax rate",
}
_MONEY_KEYS = {"period_price", "recurring_net", "tax", "base", "old_price", "new_price", "net"}
_MONTH_SHARE = ("a day's share of the period price: the price in minor units (cents) spread "
                "over the days of the month, the units left over on its last days")


@register.filter
def derivation_rows(charge) -> list[tuple[str, str]]:
    """How a charge was worked out, as (label, value) rows, known keys first."""
    derivation = dict(charge.derivation)
    if derivation.get("rule") == "daily":
        if derivation.get("period") == "day":
            derivation["rule"] = "the plan's price for a day"
            derivation.pop("days", None)
            derivation.pop("day", None)
        else:
            derivation["rule"] = _MONTH_SHARE
    keys = [k for k in _DERIVATION_LABELS if k in derivation]
    keys += sorted(k for k in derivation if k not in _DERIVATION_LABELS)
    rows = []
    for key in keys:
        value = derivation[key]
        if key in _MONEY_KEYS:
            with contextlib.suppress(ArithmeticError, ValueError, TypeError):
                value = format_money(Money(Decimal(str(value)), charge.currency))
        elif key == "discount_percent":
            value = f"{Decimal(str(value)).normalize():f}"
        elif key == "tax_rate":
            value = f"{(Decimal(str(value)) * 100).normalize():f} %"
        elif key == "tariff_version":
            value = str(value)[:16].replace("T", " ")
        elif isinstance(value, list):
            value = "; ".join(": ".join(str(part) for part in item)
                              if isinstance(item, list | tuple) else str(item)
                              for item in value)
        rows.append((_DERIVATION_LABELS.get(key, key.replace("_", " ").capitalize()),
                     str(value)))
    return rows

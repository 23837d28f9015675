from django import template
from djmoney.money import Money

from billing.models import LedgerAccount
from billing.selectors import movements
from core.money import zero

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


@register.inclusion_tag("billing/partials/_movements.html")
def recent_movements(client, limit: int = 8):
    return {"entries": list(movements(client=client, limit=limit))}

from django import template
from djmoney.money import Money

from core.money import zero

register = template.Library()


@register.simple_tag
def client_balance(client) -> Money:
    """The client's personal-account balance.

    The ledger arrives with the money issue; until then every balance is zero in the
    client's currency, which is the truth while nothing can be paid.
    """
    return zero(client.currency)

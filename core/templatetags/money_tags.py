from django import template

from core.money import format_money

register = template.Library()


@register.filter
def money(amount) -> str:
    """``{{ price|money }}`` → ``1.00 USD``, rounded by the one rounding rule."""
    if amount is None or amount == "":
        return ""
    return format_money(amount)

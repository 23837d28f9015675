from decimal import Decimal

from django import template
from djmoney.money import Money

from core.money import format_money

register = template.Library()


@register.filter
def money(amount) -> str:
    """``{{ price|money }}`` → ``1.00 USD``, rounded by the one rounding rule."""
    if amount is None or amount == "":
        return ""
    return format_money(amount)


@register.filter
def amount(value, currency) -> str:
    """``{{ line.net|amount:document.currency }}`` → ``1,234.50``: a figure of a document's
    column, with the currency's own decimal places (0 for JPY, 3 for BHD) and no code."""
    if value is None or value == "":
        return ""
    return format_money(Money(Decimal(str(value)), str(currency))).rsplit(" ", 1)[0]


@register.filter
def percent(rate) -> str:
    """``{{ line.tax_rate|percent }}`` → ``25.5 %``: a rate (0.2550) as a legal document
    states it, with all its decimals and no rounding."""
    if rate is None or rate == "":
        return ""
    value = (Decimal(str(rate)) * 100).normalize()
    return f"{value:f} %"

from django import template

from accounts.models import Access
from accounts.rights import Area

register = template.Library()


@register.filter
def can(client_context, area_and_level: str) -> bool:
    """``{% if client_context|can:"finances" %}`` or ``|can:"finances:manage"``."""
    if client_context is None:
        return False
    area, _, level = area_and_level.partition(":")
    return client_context.can(Area(area), level or Access.READ)

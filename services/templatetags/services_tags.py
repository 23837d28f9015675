from django import template
from django.utils.safestring import mark_safe

from services.selectors import client_is_active

register = template.Library()


@register.simple_tag
def client_status_badge(client) -> str:
    """The client's status as the seeds name it: Active or Not active."""
    active = getattr(client, "is_active", None)
    if active is None:
        active = client_is_active(client)
    if active:
        return mark_safe('<span class="badge badge-success">Active</span>')
    return mark_safe('<span class="badge">Not active</span>')

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from services.models import ServiceStatus
from services.selectors import client_is_active, service_overages, widget_services

register = template.Library()
S = ServiceStatus

_BADGE = {
    S.ACTIVE: "badge-success",
    S.IN_PROGRESS: "badge-info",
    S.ORDERED: "badge-primary",
    S.CONFIGURATION_REQUIRED: "badge-primary",
    S.SUSPENDED: "badge-warning",
    S.SUSPENDED_BY_ADMIN: "badge-danger",
    S.SUSPENDED_ABUSE: "badge-danger",
    S.NOT_AVAILABLE: "badge-danger",
    S.DELETED: "",
}


@register.simple_tag
def client_status_badge(client) -> str:
    """The client's status as the seeds name it: Active or Not active."""
    active = getattr(client, "is_active", None)
    if active is None:
        active = client_is_active(client)
    if active:
        return mark_safe('<span class="badge badge-success">Active</span>')
    return mark_safe('<span class="badge">Not active</span>')


@register.inclusion_tag("services/partials/_status_badge.html")
def service_status_badge(service):
    return {"service": service, "css": _BADGE.get(service.status, "")}


@register.filter
def expiration(service) -> str:
    """'Expires 2025-08-07' while it runs, 'Stopped 2025-07-01' once stopped (seeds)."""
    if service.status == S.DELETED and service.deleted_at:
        return f"Deleted {timezone.localdate(service.deleted_at):%Y-%m-%d}"
    if service.status in (S.SUSPENDED, S.SUSPENDED_BY_ADMIN, S.SUSPENDED_ABUSE) \
            and service.suspended_at:
        return f"Stopped {timezone.localdate(service.suspended_at):%Y-%m-%d}"
    if service.expires_on:
        return f"Expires {service.expires_on:%Y-%m-%d}"
    if service.plan.is_daily and service.activated_at:
        return "Charged daily"
    return "—"


@register.inclusion_tag("services/widgets/_active_services.html", takes_context=True)
def active_services_widget(context, client):
    return {"services": widget_services(client=client), "request": context.get("request")}


@register.inclusion_tag("services/widgets/_overages.html", takes_context=True)
def overages_widget(context, client):
    return {"overages": service_overages(client=client, today=timezone.localdate()),
            "request": context.get("request")}

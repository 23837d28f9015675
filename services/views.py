"""Client area: Goods/Services (the list, a service's page and its actions)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from accounts.decorators import client_area
from accounts.models import Access
from accounts.rights import Area
from services import actions
from services.forms import NameserversForm, ParametersForm, ServiceFilterForm
from services.models import (
    RECONFIGURABLE_STATUSES,
    RENEWABLE_STATUSES,
    Charging,
    ServiceStatus,
)
from services.selectors import service_get, service_list

PAGE_SIZE = 25


@client_area(Area.SERVICES)
def service_index(request):
    form = ServiceFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    services = service_list(
        client=request.client_context.client,
        product_type=filters.get("type") or "",
        status=filters.get("status") or "",
        service_id=filters.get("id"),
    )
    page = Paginator(services, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "services": page.object_list,
               "filtered": any(filters.values()) if filters else False}
    template = "services/partials/_service_table.html" if request.htmx else "services/list.html"
    return render(request, template, context)


def _live_context(request, service) -> dict:
    context = request.client_context
    can_manage = context.can(Area.SERVICES, Access.MANAGE)
    allowed = actions.client_actions(service) if can_manage else set()
    return {
        "service": service,
        "actions": {action.value for action in allowed},
        "can_manage": can_manage,
        "history": service.history.select_related("actor")[:50],
        "addon_values": service.addon_values.all(),
        "usage": service.usage.select_related("addon__unit", "addon__plan__provider")[:12],
        "ns_form": NameserversForm.for_service(service)
        if actions.ClientAction.NAMESERVERS in allowed else None,
        "polling": service.status == ServiceStatus.IN_PROGRESS,
        "renew_url": _optional_url("cart:renew", service.pk)
        if can_manage and service.plan.charging == Charging.PERIOD
        and service.status in RENEWABLE_STATUSES else None,
        "change_url": _optional_url("cart:change", service.pk)
        if can_manage and service.status in RECONFIGURABLE_STATUSES else None,
        "auto_renew_url": _optional_url("cart:auto_renew", service.pk)
        if can_manage and service.plan.charging == Charging.PERIOD and not service.auto_renew
        and service.status in RENEWABLE_STATUSES else None,
        "parameters_form": ParametersForm(plan=service.plan)
        if can_manage and service.status == ServiceStatus.CONFIGURATION_REQUIRED else None,
    }


def _optional_url(name: str, *args) -> str | None:
    """The address of a page of a higher layer (cart, support) if it is installed."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _support_url(service) -> str | None:
    url = _optional_url("support:ticket_create")
    return f"{url}?service={service.pk}" if url else None


@client_area(Area.SERVICES)
def service_detail(request, pk: int):
    service = service_get(client=request.client_context.client, pk=pk)
    context = _live_context(request, service)
    if request.htmx:
        return render(request, "services/partials/_service_live.html", context)
    context["support_url"] = _support_url(service)
    if request.client_context.can(Area.FINANCES):
        context["charges_url"] = _optional_url("billing:service_charges", service.pk)
    return render(request, "services/detail.html", context)


ACTIONS = {
    "suspend": lambda service, request: actions.service_suspend_by_client(
        service=service, actor=request.user, request=request),
    "resume": lambda service, request: actions.service_resume_by_client(
        service=service, actor=request.user, request=request),
    "reboot": lambda service, request: actions.service_reboot(
        service=service, actor=request.user, request=request),
    "delete": lambda service, request: actions.service_delete_by_client(
        service=service, actor=request.user, request=request),
    "auto-renew-on": lambda service, request: actions.service_set_auto_renew(
        service=service, enabled=True, actor=request.user, request=request),
    "auto-renew-off": lambda service, request: actions.service_set_auto_renew(
        service=service, enabled=False, actor=request.user, request=request),
}

DONE_MESSAGES = {
    "suspend": "The service is being suspended.",
    "resume": "The service is being resumed.",
    "reboot": "The server is rebooting.",
    "delete": "The service is being deleted.",
    "auto-renew-on": "Auto-renewal is on.",
    "auto-renew-off": "Auto-renewal is off.",
}


@require_POST
@client_area(Area.SERVICES, Access.MANAGE)
def service_action(request, pk: int, action: str):
    if action not in ACTIONS:
        raise Http404
    service = service_get(client=request.client_context.client, pk=pk)
    try:
        ACTIONS[action](service, request)
    except actions.ActionNotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(request, DONE_MESSAGES[action])
    return _after_action(request, pk)


@require_POST
@client_area(Area.SERVICES, Access.MANAGE)
def service_nameservers(request, pk: int):
    service = service_get(client=request.client_context.client, pk=pk)
    form = NameserversForm.for_service(service, request.POST)
    if not form.is_valid():
        context = _live_context(request, service)
        context["ns_form"] = form
        template = ("services/partials/_service_live.html" if request.htmx
                    else "services/detail.html")
        return render(request, template, context, status=200)
    try:
        actions.service_set_nameservers(service=service, nameservers=form.nameservers(),
                                        actor=request.user, request=request)
    except actions.ActionNotAllowed as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Name servers are being changed.")
    return _after_action(request, pk)


@require_POST
@client_area(Area.SERVICES, Access.MANAGE)
def service_configure(request, pk: int):
    """Quick order: the client gives the parameters a paid service waits for."""
    service = service_get(client=request.client_context.client, pk=pk)
    form = ParametersForm(request.POST, plan=service.plan)
    if form.is_valid():
        try:
            actions.service_configure(service=service, parameters=form.cleaned_data,
                                      actor=request.user, request=request)
        except actions.ActionNotAllowed as error:
            messages.error(request, str(error))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Thank you: the service is being activated.")
            return redirect("services:detail", pk=pk)
    context = _live_context(request, service)
    context["parameters_form"] = form
    return render(request, "services/detail.html", context)


def _after_action(request, pk: int):
    if request.htmx:
        service = service_get(client=request.client_context.client, pk=pk)
        return render(request, "services/partials/_service_live.html",
                      _live_context(request, service))
    return redirect("services:detail", pk=pk)

"""The back office's staff pages: the dashboard (the staff panel's first page), the full
list of models it replaces there, and a client's page. Each reads the wall clock once and
hands the day down."""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.impersonation import can_impersonate
from accounts.models import Client
from backoffice import figures
from backoffice.client_page import client_header, client_sections
from backoffice.notes import NoteRefused, client_note_add

CLIENT_PERMISSION = "accounts.view_client"
NOTE_PERMISSION = "backoffice.add_clientnote"

# Each block of the dashboard and the view permission that shows it.
BLOCK_PERMISSIONS = {
    "revenue": "billing.view_transaction",
    "payments": "payments.view_payment",
    "clients": "accounts.view_client",
    "services": "services.view_service",
    "operations": "services.view_serviceoperation",
    "debt": "billing.view_ledgeraccount",
    "tickets": "support.view_ticket",
}

COUNT_LABELS = {
    "new_clients_today": gettext_lazy("New clients today"),
    "new_clients_month": gettext_lazy("New clients this month"),
    "new_services_today": gettext_lazy("New services today"),
    "new_services_month": gettext_lazy("New services this month"),
    "in_progress": gettext_lazy("Services in progress now"),
    "failed": gettext_lazy("Failed operations now"),
}


def dashboard(site: admin.AdminSite, request) -> TemplateResponse:
    user = request.user
    day = timezone.localdate()
    today, month = figures.today(day), figures.month_to_date(day)
    can = {block: user.has_perm(permission) for block, permission in BLOCK_PERMISSIONS.items()}
    context = {**site.each_context(request), "title": _("Dashboard"), "day": day,
               "month_start": month.start, "can": can}
    if can["revenue"]:
        context.update(
            revenue=_side_by_side(figures.revenue(today), figures.revenue(month),
                                  ("company", "currency"), ("amount",)),
            revenue_chart=figures.revenue_by_month(day),
            company_providers=figures.providers_of_companies())
    if can["payments"]:
        context["payments"] = _side_by_side(
            figures.payments_received(today), figures.payments_received(month),
            ("provider", "currency"), ("amount", "count"))
    counts = {}
    if can["clients"]:
        counts["new_clients"] = (figures.new_clients(today), figures.new_clients(month))
    if can["services"]:
        counts["new_services"] = (figures.new_services(today), figures.new_services(month))
        counts["in_progress"] = (figures.services_in_progress(), None)
    if can["operations"]:
        counts["failed"] = (figures.failed_operations(), None)
    context["providers"] = _per_provider_table(counts)
    if can["debt"]:
        context["debt"] = figures.clients_in_debt()
    if can["tickets"]:
        context["tickets"] = sorted(figures.tickets_waiting(user).items())
    request.current_app = site.name
    return TemplateResponse(request, "backoffice/dashboard.html", context)


def client_page(model_admin, request, pk: int) -> TemplateResponse:
    user = request.user
    if not user.has_perm(CLIENT_PERMISSION):
        raise PermissionDenied
    client = get_object_or_404(Client.objects.select_related("provider"), pk=pk)
    header = client_header(client, user, as_of=timezone.localdate())
    context = {
        **model_admin.admin_site.each_context(request),
        "title": str(client), "subtitle": None, "opts": Client._meta, "header": header,
        "sections": client_sections(client, user),
        "actions": _actions(client, header, user),
        "can_add_note": user.has_perm(NOTE_PERMISSION),
        "note_key": uuid.uuid4().hex,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "backoffice/client_page.html", context)


def client_note_view(model_admin, request, pk: int):
    if not request.user.has_perm(NOTE_PERMISSION) or \
            not request.user.has_perm(CLIENT_PERMISSION):
        raise PermissionDenied
    client = get_object_or_404(Client, pk=pk)
    page = reverse("admin:accounts_client_overview", args=[client.pk])
    if request.method != "POST":
        return redirect(page)
    try:
        client_note_add(client=client, author=request.user, text=request.POST.get("text", ""),
                        key=request.POST.get("key", ""), request=request)
    except NoteRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("The note was added."))
    return redirect(f"{page}#notes")


def _actions(client: Client, header, user) -> list[dict]:
    """The actions staff have on a client today, each where it already lives, shown only
    to those allowed to take it."""
    actions = []
    if user.has_perm("accounts.view_client") or user.has_perm("accounts.change_client"):
        actions.append({"label": _("Client details"),
                        "url": reverse("admin:accounts_client_change", args=[client.pk])})
    account = header.account
    if account is not None and user.has_perm("billing.add_transaction"):
        actions.append({"label": _("Credit or debit the balance"),
                        "url": reverse("admin:billing_ledgeraccount_adjust", args=[account.pk])})
    if account is not None and user.has_perm("billing.change_ledgeraccount"):
        actions.append({"label": _("Set the credit limit"),
                        "url": reverse("admin:billing_ledgeraccount_change", args=[account.pk])})
    if user.has_perm("payments.record_payment"):
        actions.append({"label": _("Record a payment"),
                        "url": reverse("admin:payments_payment_record", args=[client.pk])})
    if user.has_perm("billing.view_promisedpayment"):
        actions.append({"label": _("Promised payments"),
                        "url": reverse("admin:billing_promisedpayment_changelist")
                        + f"?client__id__exact={client.pk}"})
    if user.has_perm("history.view_events"):
        actions.append({"label": _("History of changes"),
                        "url": reverse("admin:accounts_client_history", args=[client.pk])})
    if can_impersonate(user):
        actions.append({"label": _("Enter as client"), "post": True,
                        "url": reverse("admin:accounts_client_enter", args=[client.pk])})
    return actions


def _side_by_side(today: list[dict], month: list[dict], keys: tuple[str, ...],
                  values: tuple[str, ...]) -> list[dict]:
    """Today's and the month's rows of a figure on one row per key (e.g. company and
    currency): ``{..keys, "today": {..values}, "month": {..values}}``."""
    rows: dict[tuple, dict] = {}
    for when, figure in (("today", today), ("month", month)):
        for row in figure:
            key = tuple(row[k] for k in keys)
            merged = rows.setdefault(key, {**{k: row[k] for k in keys}, "today": None,
                                           "month": None})
            merged[when] = {v: row[v] for v in values}
    return [rows[key] for key in sorted(rows, key=lambda key: tuple(map(str, key)))]


def _per_provider_table(counts: dict[str, tuple[dict, dict | None]]) -> dict:
    """Counts per provider as a table with a row per figure (today's and the month's one
    under the other) and a column per provider: providers are few, figures are many."""
    figures_shown: list[tuple[str, dict]] = []
    for name, (first, second) in counts.items():
        if second is None:
            figures_shown.append((COUNT_LABELS[name], first))
        else:
            figures_shown += [(COUNT_LABELS[f"{name}_today"], first),
                              (COUNT_LABELS[f"{name}_month"], second)]
    providers = sorted({provider for shown in figures_shown for provider in shown[1]})
    return {"providers": providers,
            "rows": [{"label": label, "cells": [figure.get(provider, 0)
                                                for provider in providers]}
                     for label, figure in figures_shown]}

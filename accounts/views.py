"""Client-area pages of the accounts layer: home, account information, payers, users."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import client_users, payers
from accounts.actionlog import log_action
from accounts.decorators import client_area
from accounts.forms import ClientDetailsForm, InviteForm, PayerForm, RightsForm
from accounts.impersonation import impersonation_stop
from accounts.models import Access
from accounts.rights import Area
from accounts.selectors import (
    client_activity,
    client_user_get,
    client_user_list,
    payer_get,
    payer_list,
)


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@client_area()
def home(request):
    client = request.client_context.client
    return render(request, "accounts/home.html", {"client": client})


@client_area()
def account_info(request):
    context = request.client_context
    client = context.client
    form = None
    if context.can(Area.SETTINGS, Access.MANAGE):
        form = ClientDetailsForm(request.POST or None, instance=client)
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                form.save()
                log_action(actor=request.user, action="client.details_changed", obj=client,
                           request=request, details={"changed": form.changed_data})
            messages.success(request, "Your details were saved.")
            return redirect("accounts:account_info")
    elif request.method == "POST":
        raise PermissionDenied
    return render(request, "accounts/account_info.html", {
        "client": client,
        "form": form,
        "activity": client_activity(client=client),
        "can_see_finances": context.can(Area.FINANCES),
    })


# Payers -------------------------------------------------------------------------------
@client_area(Area.FINANCES)
def payer_index(request):
    template = "accounts/partials/_payer_table.html" if request.htmx else "accounts/payers.html"
    return render(request, template, _payers_context(request))


def _payers_context(request) -> dict:
    context = request.client_context
    return {
        "payers": payer_list(client=context.client),
        "can_manage": context.can(Area.FINANCES, Access.MANAGE),
    }


@client_area(Area.FINANCES, Access.MANAGE)
def payer_create(request):
    form = PayerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            payer = payers.payer_create(client=request.client_context.client, actor=request.user,
                                        data=form.cleaned_data, request=request)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Payer “{payer.name}” was added.")
            return redirect("accounts:payers")
    return render(request, "accounts/payer_form.html", {"form": form, "payer": None})


@client_area(Area.FINANCES)
def payer_edit(request, pk: int):
    payer = payer_get(client=request.client_context.client, pk=pk)
    can_manage = request.client_context.can(Area.FINANCES, Access.MANAGE)
    form = PayerForm(request.POST or None, instance=payer)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                payers.payer_update(payer=payer, actor=request.user, data=form.cleaned_data,
                                    request=request)
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, "The payer was saved.")
                return redirect("accounts:payers")
    return render(request, "accounts/payer_form.html",
                  {"form": form, "payer": payer, "can_manage": can_manage})


@require_POST
@client_area(Area.FINANCES, Access.MANAGE)
def payer_make_default(request, pk: int):
    payer = payer_get(client=request.client_context.client, pk=pk)
    payers.payer_set_default(payer=payer, actor=request.user, request=request)
    messages.success(request, f"“{payer.name}” is now the default payer.")
    return _payers_response(request)


@require_POST
@client_area(Area.FINANCES, Access.MANAGE)
def payer_delete(request, pk: int):
    payer = payer_get(client=request.client_context.client, pk=pk)
    try:
        payers.payer_delete(payer=payer, actor=request.user, request=request)
    except payers.PayerInUse as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Payer “{payer.name}” was deleted.")
    return _payers_response(request)


def _payers_response(request):
    if request.htmx:
        return render(request, "accounts/partials/_payer_table.html", _payers_context(request))
    return redirect("accounts:payers")


# Users --------------------------------------------------------------------------------
@client_area(Area.SETTINGS)
def user_index(request):
    context = request.client_context
    return render(request, "accounts/users.html", {
        "memberships": client_user_list(client=context.client),
        "can_manage": context.can(Area.SETTINGS, Access.MANAGE),
        "areas": list(Area),
    })


@client_area(Area.SETTINGS, Access.MANAGE)
def user_invite(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = client_users.client_user_invite(
                client=request.client_context.client, invited_by=request.user,
                email=form.cleaned_data["email"], name=form.cleaned_data["name"],
                rights=form.rights(), request=request,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(
                request, f"An invitation was sent to {membership.user.email}."
            )
            return redirect("accounts:users")
    return render(request, "accounts/user_invite.html", {"form": form})


@client_area(Area.SETTINGS)
def user_edit(request, pk: int):
    context = request.client_context
    membership = client_user_get(client=context.client, pk=pk)
    initial = {f"{area.value}_access": getattr(membership, f"{area.value}_access")
               for area in Area}
    form = RightsForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not context.can(Area.SETTINGS, Access.MANAGE):
            raise PermissionDenied
        if form.is_valid():
            try:
                client_users.client_user_update_rights(
                    membership=membership, actor=request.user, rights=form.rights(),
                    request=request,
                )
            except PermissionDenied as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Rights of {membership.user.name} were saved.")
                return redirect("accounts:users")
    return render(request, "accounts/user_edit.html", {
        "membership": membership, "form": form,
        "can_manage": context.can(Area.SETTINGS, Access.MANAGE),
    })


@require_POST
@client_area(Area.SETTINGS, Access.MANAGE)
def user_remove(request, pk: int):
    membership = client_user_get(client=request.client_context.client, pk=pk)
    try:
        client_users.client_user_remove(membership=membership, actor=request.user,
                                        request=request)
    except PermissionDenied as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{membership.user.email} was removed.")
    return redirect("accounts:users")


# Impersonation ------------------------------------------------------------------------
@require_POST
def impersonation_leave(request):
    client_id = impersonation_stop(request=request)
    if client_id is None:
        return redirect("home")
    return redirect(reverse("admin:accounts_client_change", args=[client_id]))

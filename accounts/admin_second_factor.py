"""The staff page that resets a user's second factor, mixed into the user admin."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.reauth import reauthentication_required
from accounts.second_factor import can_reset_second_factor, second_factor_reset


class SecondFactorResetForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=200,
        help_text=gettext_lazy("Why, and how you checked who asked (e.g. ticket number, "
                               "call-back to the phone on file)."))


class SecondFactorResetMixin:
    """Adds /staff/accounts/user/<pk>/reset-second-factor/ to the user admin: the named
    right (an administrator for staff members) and a fresh re-authentication."""

    def get_urls(self):
        view = self.admin_site.admin_view(reauthentication_required(self.second_factor_reset_view))
        return [
            path("<int:pk>/reset-second-factor/", view, name="accounts_user_reset_second_factor"),
            *super().get_urls(),
        ]

    def second_factor_reset_view(self, request, pk: int):
        user = get_object_or_404(User, pk=pk)
        if not can_reset_second_factor(actor=request.user, user=user):
            raise PermissionDenied
        form = SecondFactorResetForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            types = second_factor_reset(user=user, actor=request.user,
                                        reason=form.cleaned_data["reason"], request=request)
            if types:
                messages.success(request, _("The second factor of %(user)s was removed; they "
                                            "were told by e-mail.") % {"user": user.email})
            else:
                messages.info(request, _("%(user)s had no second factor.") % {"user": user.email})
            return redirect("admin:accounts_user_change", pk)
        return render(request, "admin/accounts/user/second_factor_reset.html", {
            **self.admin_site.each_context(request), "target": user, "form": form,
            "authenticators": Authenticator.objects.filter(user=user),
            "title": _("Reset the second factor of %(user)s") % {"user": user.email},
            "opts": User._meta})

    def render_change_form(self, request, context, *args, **kwargs):
        obj = context.get("original")
        context["can_reset_second_factor"] = obj is not None and can_reset_second_factor(
            actor=request.user, user=obj)
        return super().render_change_form(request, context, *args, **kwargs)

"""Staff panel: each staff member's ticket e-mail subscriptions, per support department.

Any member of staff sets their own (the page lists the departments whose queues they
see); setting another's takes ``support.change_staffsubscription``, which administrators
hold and may give to a department (a support lead)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _

from accounts.actionlog import log_action
from accounts.admin_base import ReadOnlyStaffAdmin
from accounts.models import User
from core.forms import parse_id
from support.models import StaffMail, SubscriptionLevel
from support.selectors import staff_tickets
from support.subscriptions import subscriptions_set, user_levels

OTHERS_PERMISSION = "support.change_staffsubscription"


class SubscriptionsForm(forms.Form):
    """One choice per department the staff member may see; nothing else is read."""

    def __init__(self, *args, rows, **kwargs):
        super().__init__(*args, **kwargs)
        self.departments = {}
        for department, level, chosen in rows:
            name = f"department_{department.pk}"
            self.departments[name] = department
            self.fields[name] = forms.ChoiceField(
                label=department.name, choices=SubscriptionLevel.choices, initial=level,
                widget=forms.RadioSelect,
                help_text="" if chosen else _("The default: you have not chosen yet."))

    def levels(self) -> dict[int, str]:
        return {self.departments[name].pk: value for name, value in self.cleaned_data.items()}


class SubscriptionPages:
    """One page per staff member (no list or object pages), reached from the top bar's
    "Ticket e-mail"; it hangs on the staff mail's admin (see ``StaffMailAdmin``)."""

    def mine_view(self, request):
        chosen = parse_id(request.GET.get("user"))
        if chosen is not None and chosen != request.user.pk:
            return redirect("admin:support_staffmail_subscriptions_user", chosen)
        return self._page(request, request.user)

    def user_view(self, request, user_id: int):
        if user_id != request.user.pk and not request.user.has_perm(OTHERS_PERMISSION):
            raise PermissionDenied
        return self._page(request, get_object_or_404(User, pk=user_id, is_staff=True))

    def _page(self, request, target: User):
        rows = user_levels(target)
        form = SubscriptionsForm(request.POST or None, rows=rows)
        if request.method == "POST" and form.is_valid():
            try:
                subscriptions_set(user=target, levels=form.levels())
            except ValidationError as error:
                form.add_error(None, error)
            else:
                log_action(actor=request.user, action="support.subscriptions_changed",
                           obj=target, request=request,
                           details={form.departments[name].name: value
                                    for name, value in form.cleaned_data.items()})
                messages.success(request, _("Your ticket e-mail is saved.")
                                 if target == request.user else
                                 _("Ticket e-mail of %(email)s is saved.")
                                 % {"email": target.email})
                return redirect(request.path)
        may_choose_others = request.user.has_perm(OTHERS_PERMISSION)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Ticket e-mail"), "subtitle": target.email, "target": target,
            "is_own": target == request.user, "form": form,
            "staff": User.objects.filter(is_staff=True, is_active=True).order_by("email")
            if may_choose_others else None,
            "opts": StaffMail._meta,
        }
        return TemplateResponse(
            request, "admin/support/staffmail/subscriptions.html", context,
            status=422 if request.method == "POST" else 200)


@admin.register(StaffMail)
class StaffMailAdmin(SubscriptionPages, ReadOnlyStaffAdmin):
    """What was (or is still to be) mailed to staff about tickets, with each failure's
    error and count of tries: read-only, the tickets of the queues one works only."""

    list_display = ["created_at", "event", "email", "ticket", "status", "attempts", "sent_at"]
    list_filter = ["status", "event"]
    list_select_related = ["ticket"]
    search_fields = ["email", "subject", "=key"]
    fields = ["created_at", "event", "ticket", "recipient", "email", "subject", "body",
              "headers", "key", "status", "attempts", "error", "claimed_until", "sent_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(ticket__in=staff_tickets(request.user))

    def get_urls(self):
        return [
            path("subscriptions/", self.admin_site.admin_view(self.mine_view),
                 name="support_staffmail_subscriptions"),
            path("subscriptions/<int:user_id>/", self.admin_site.admin_view(self.user_view),
                 name="support_staffmail_subscriptions_user"),
            *super().get_urls(),
        ]

    def history_view(self, request, object_id, extra_context=None):
        # The right first: a row outside one's queues must not read as "does not exist"
        # to someone who may not look at staff mail at all.
        if not self.has_view_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

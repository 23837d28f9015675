"""The staff queue of tickets: its filters, bulk actions, and the transfer and merge pages.

Mixed into ``support.admin.TicketAdmin``. Every ticket it reads comes through the admin's
``get_queryset`` (``staff_tickets(user)``), so a foreign department's ticket is missing
(404) on every page here, never forbidden (403) and never counted.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from services.models import ProductType
from support import assignment, merge, transfer
from support.models import Priority, SupportDepartment, Ticket, TicketStatus
from support.queue import (
    assignable_staff,
    client_other_tickets,
    client_services,
    queue_counters,
    queue_staff,
    ticket_number_in,
)
from support.selectors import staff_support_departments, staff_tickets

TRANSFER_PERMISSION = "support.transfer_ticket"
MERGE_PERMISSION = "support.merge_ticket"
BULK_LIMIT = 200
COUNT_CAP = 10_000


# Filters -------------------------------------------------------------------------------------
class QueueFilter(admin.SimpleListFilter):
    """Active tickets (the queue) by default; all of them, one's own, or nobody's."""

    title = gettext_lazy("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("all", _("All tickets")), ("mine", _("My tickets")),
                ("unassigned", _("Unassigned"))]

    def choices(self, changelist):
        yield {"selected": self.value() is None, "display": _("Active tickets"),
               "query_string": changelist.get_query_string(remove=[self.parameter_name])}
        for value, label in self.lookup_choices:
            yield {"selected": self.value() == value, "display": label,
                   "query_string": changelist.get_query_string({self.parameter_name: value})}

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        active = queryset.exclude(status=TicketStatus.CLOSED)
        if self.value() == "mine":
            return active.filter(assignee=request.user)
        if self.value() == "unassigned":
            return active.filter(assignee__isnull=True)
        return active


QUEUE_TITLES = {None: gettext_lazy("Active tickets"), "all": gettext_lazy("All tickets"),
                "mine": gettext_lazy("My tickets"), "unassigned": gettext_lazy("Unassigned")}


class _IdFilter(admin.SimpleListFilter):
    """A filter by the id of one of a few objects listed for this user; an id not listed
    (a foreign department's, or not a number) filters nothing rather than failing."""

    def options(self, request) -> list[tuple[int, str]]:
        raise NotImplementedError

    def lookups(self, request, model_admin):
        self._options = self.options(request)
        return [(str(pk), label) for pk, label in self._options]

    def chosen(self) -> int | None:
        value = self.value()
        if value and value.isdigit() and int(value) in {pk for pk, _label in self._options}:
            return int(value)
        return None


class DepartmentFilter(_IdFilter):
    title = gettext_lazy("department")
    parameter_name = "department"

    def options(self, request):
        return [(department.pk, department.name)
                for department in staff_support_departments(request.user)
                .order_by("position", "name")]

    def queryset(self, request, queryset):
        chosen = self.chosen()
        return queryset if chosen is None else queryset.filter(department_id=chosen)


class AssigneeFilter(_IdFilter):
    """Staff of the user's departments only: never a list of every ticket's assignee."""

    title = gettext_lazy("assignee")
    parameter_name = "assignee"

    def options(self, request):
        return [(user.pk, user.email) for user in queue_staff(request.user)]

    def queryset(self, request, queryset):
        chosen = self.chosen()
        return queryset if chosen is None else queryset.filter(assignee_id=chosen)


class ProductTypeFilter(admin.SimpleListFilter):
    title = gettext_lazy("service's product type")
    parameter_name = "product_type"

    def lookups(self, request, model_admin):
        return ProductType.choices

    def queryset(self, request, queryset):
        if self.value() in ProductType.values:
            return queryset.filter(service__plan__product_type=self.value())
        return queryset


# Bulk action forms ---------------------------------------------------------------------------
class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=None, required=False, label=gettext_lazy("Assign to"),
        empty_label=gettext_lazy("Nobody (unassign)"))

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices, label=gettext_lazy("Priority"))


class TransferForm(forms.Form):
    department = forms.ModelChoiceField(queryset=SupportDepartment.objects.all(),
                                        label=gettext_lazy("Move to"))
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=transfer.REASON_MAX,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=gettext_lazy("Kept as an internal note on the ticket."))


class MergeForm(forms.Form):
    target = forms.ModelChoiceField(queryset=None, label=gettext_lazy("Merge into"))
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = targets
        self.fields["target"].label_from_instance = lambda ticket: (
            f"{ticket.display_number} · {ticket.subject} ({ticket.get_status_display()})")


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 tickets: "All tickets" over years of them costs one
    bounded index scan, not a count of the whole table; the list says "more than" then."""

    @cached_property
    def count(self) -> int:
        # Counting a column of the (partial) department indexes lets PostgreSQL count
        # tickets from the index alone. (The admin pages other lists with it too: the
        # ticket's history of changes.)
        column = "department_id" if self.object_list.model is Ticket else "pk"
        return self.object_list.order_by().values(column)[:COUNT_CAP + 1].count()


# The mixin -----------------------------------------------------------------------------------
class TicketQueueMixin:
    """Scoping, the queue's counters and search, bulk actions, the side panel, and the
    transfer and merge pages of TicketAdmin."""

    change_list_template = "admin/support/ticket/change_list.html"
    show_facets = admin.ShowFacets.NEVER  # facets count every option over every ticket
    actions = ["assign_tickets", "close_tickets", "set_priority", "transfer_tickets"]
    paginator = CappedCountPaginator
    count_cap = COUNT_CAP

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj):
        # Django renders this through the form widget's template once per row; the same
        # markup by format_html costs a fiftieth of it.
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" '
                           'aria-label="{}">', helpers.ACTION_CHECKBOX_NAME, obj.pk,
                           _("Select this object for an action - %(object)s")
                           % {"object": obj.display_number})

    # Scope -----------------------------------------------------------------------------------
    def get_queryset(self, request):
        return staff_tickets(request.user).select_related("client", "department", "assignee")

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # The permission first (403 without it); then a foreign queue's ticket reads
            # as missing, not as forbidden.
            if not self.has_view_or_change_permission(request):
                raise PermissionDenied
            raise Http404
        return obj

    def scoped_ticket(self, request, pk: int) -> Ticket:
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def get_search_results(self, request, queryset, search_term):
        number = ticket_number_in(search_term)
        if number is not None:
            return queryset.filter(number=number), False
        return super().get_search_results(request, queryset, search_term)

    # The list --------------------------------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        extra_context.setdefault("title", QUEUE_TITLES.get(request.GET.get("queue"),
                                                           QUEUE_TITLES[None]))
        if request.method == "GET":
            extra_context["status_counters"], extra_context["department_counters"] = \
                queue_counters(request.user)
        return super().changelist_view(request, extra_context)

    def has_transfer_permission(self, request):
        return request.user.has_perm(TRANSFER_PERMISSION)

    def has_merge_permission(self, request):
        return request.user.has_perm(MERGE_PERMISSION)

    def _bulk(self, request, queryset, *, title, form, apply, submit):
        """An action's intermediate page: the form, then ``apply(ticket, data)`` per ticket
        (True: changed, False: already so) when it is posted valid."""
        if queryset.count() > BULK_LIMIT:
            self.message_user(request, _("Select at most %(limit)s tickets at a time.")
                              % {"limit": BULK_LIMIT}, messages.ERROR)
            return None
        if "apply" in request.POST and form.is_valid():
            changed = unchanged = 0
            problems = []
            for ticket in queryset.order_by("pk"):
                try:
                    if apply(ticket, form.cleaned_data):
                        changed += 1
                    else:
                        unchanged += 1
                except ValidationError as error:
                    problems.append(f"{ticket.display_number}: {' '.join(error.messages)}")
            self.message_user(request, ngettext(
                "%(changed)s ticket changed, %(unchanged)s already so.",
                "%(changed)s tickets changed, %(unchanged)s already so.", changed)
                % {"changed": changed, "unchanged": unchanged}, messages.SUCCESS)
            for problem in problems:
                self.message_user(request, problem, messages.ERROR)
            return None
        return render(request, "admin/support/ticket/bulk_action.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": title, "form": form, "tickets": queryset.order_by("pk"),
            "action": request.POST.get("action"), "submit": submit,
            "checkbox_name": helpers.ACTION_CHECKBOX_NAME})

    @admin.action(description=gettext_lazy("Assign to a member of staff"),
                  permissions=["change"])
    def assign_tickets(self, request, queryset):
        department_ids = set(queryset.values_list("department_id", flat=True).distinct())
        staff = assignable_staff(department_ids)
        form = AssignForm(request.POST if "apply" in request.POST else None, staff=staff)
        return self._bulk(
            request, queryset, form=form, submit=_("Assign"),
            title=_("Assign the selected tickets"),
            apply=lambda ticket, data: assignment.ticket_assign(
                ticket=ticket, assignee=data["assignee"], actor=request.user,
                now=timezone.now(), request=request))

    @admin.action(description=gettext_lazy("Close"), permissions=["change"])
    def close_tickets(self, request, queryset):
        return self._bulk(
            request, queryset, form=forms.Form(request.POST if "apply" in request.POST
                                               else None),
            submit=_("Close"), title=_("Close the selected tickets"),
            apply=lambda ticket, data: assignment.ticket_close_by_staff(
                ticket=ticket, actor=request.user, now=timezone.now(), request=request))

    @admin.action(description=gettext_lazy("Change the priority"), permissions=["change"])
    def set_priority(self, request, queryset):
        form = PriorityForm(request.POST if "apply" in request.POST else None)
        return self._bulk(
            request, queryset, form=form, submit=_("Change the priority"),
            title=_("Change the priority of the selected tickets"),
            apply=lambda ticket, data: assignment.ticket_set_priority(
                ticket=ticket, priority=data["priority"], actor=request.user,
                now=timezone.now(), request=request))

    @admin.action(description=gettext_lazy("Transfer to another department"),
                  permissions=["transfer"])
    def transfer_tickets(self, request, queryset):
        form = TransferForm(request.POST if "apply" in request.POST else None)
        return self._bulk(
            request, queryset, form=form, submit=_("Transfer"),
            title=_("Transfer the selected tickets"),
            apply=lambda ticket, data: transfer.ticket_transfer(
                ticket=ticket, department=data["department"], reason=data["reason"],
                actor=request.user, now=timezone.now(), request=request))

    # The ticket page -------------------------------------------------------------------------
    def queue_urls(self):
        return [
            path("<int:pk>/transfer/", self.admin_site.admin_view(self.transfer_view),
                 name="support_ticket_transfer"),
            path("<int:pk>/merge/", self.admin_site.admin_view(self.merge_view),
                 name="support_ticket_merge"),
        ]

    def side_panel_context(self, request, obj: Ticket) -> dict:
        services, services_total = client_services(obj)
        return {
            "other_tickets": client_other_tickets(user=request.user, ticket=obj),
            "client_services": services, "client_services_total": services_total,
            "can_view_services": request.user.has_perm("services.view_service"),
            "can_view_client": request.user.has_perm("accounts.view_client"),
            "can_transfer": self.has_transfer_permission(request)
            and obj.merged_into_id is None,
            "can_merge": self.has_merge_permission(request) and obj.merged_into_id is None,
        }

    def transfer_view(self, request, pk: int):
        if not self.has_transfer_permission(request):
            raise PermissionDenied
        ticket = self.scoped_ticket(request, pk)
        form = TransferForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                moved = transfer.ticket_transfer(
                    ticket=ticket, department=form.cleaned_data["department"],
                    reason=form.cleaned_data["reason"], actor=request.user,
                    now=timezone.now(), request=request)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                department = form.cleaned_data["department"]
                if moved:
                    messages.success(request, _("%(number)s moved to %(department)s.") % {
                        "number": ticket.display_number, "department": department.name})
                else:  # a double submit, or the department it is in
                    messages.info(request, _("%(number)s is in %(department)s.") % {
                        "number": ticket.display_number, "department": department.name})
                if self.get_queryset(request).filter(pk=ticket.pk).exists():
                    return redirect("admin:support_ticket_change", ticket.pk)
                return redirect("admin:support_ticket_changelist")
        return render(request, "admin/support/ticket/transfer.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": _("Transfer %(number)s") % {"number": ticket.display_number},
            "ticket": ticket, "form": form})

    def merge_view(self, request, pk: int):
        if not self.has_merge_permission(request):
            raise PermissionDenied
        source = self.scoped_ticket(request, pk)
        targets = (self.get_queryset(request).filter(client_id=source.client_id,
                                                     merged_into__isnull=True)
                   .exclude(pk=source.pk).order_by("-updated_at", "-id"))
        form = MergeForm(request.POST or None, targets=targets)
        confirming = None
        if request.method == "POST" and form.is_valid():
            target = form.cleaned_data["target"]
            try:
                merge.merge_check(source=source, target=target)
                if form.cleaned_data["confirm"]:
                    merge.ticket_merge(source=source, target=target, actor=request.user,
                                       now=timezone.now(), request=request)
                    messages.success(request, _("%(source)s is merged into %(target)s.") % {
                        "source": source.display_number, "target": target.display_number})
                    return redirect("admin:support_ticket_change", target.pk)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                confirming = target
        return render(request, "admin/support/ticket/merge.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": _("Merge %(number)s") % {"number": source.display_number},
            "ticket": source, "form": form, "target": confirming,
            "message_count": source.messages.count() if confirming else None})

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import ClientAdmin as AccountsClientAdmin
from accounts.admin_base import ReadOnlyStaffAdmin, StaffModelAdmin
from accounts.models import Client
from accounts.reauth import require_reauthentication
from services import actions, billing_facts, operations
from services.catalog import addon_delete
from services.lifecycle import IllegalTransition
from services.models import (
    Addon,
    AddonPrice,
    Enumeration,
    EnumerationItem,
    PlanPrice,
    ProductGroup,
    Service,
    ServiceAddon,
    ServiceHistory,
    ServiceOperation,
    ServiceStatus,
    ServiceUsage,
    SuspendReason,
    TariffPlan,
    UnitOfMeasure,
)
from services.modules import module_choices
from services.selectors import clients_with_status


# Clients, with the status only this layer can derive ----------------------------------------
class ClientStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("not_active", "Not active")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(is_active=True)
        if self.value() == "not_active":
            return queryset.filter(is_active=False)
        return queryset


class ClientServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    fields = ["link", "plan", "status", "expires_on", "auto_renew"]
    readonly_fields = ["link", "plan", "status", "expires_on", "auto_renew"]
    show_change_link = False
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="service")
    def link(self, obj):
        url = reverse("admin:services_service_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj)


admin.site.unregister(Client)


@admin.register(Client)
class ClientAdmin(AccountsClientAdmin):
    list_display = [*AccountsClientAdmin.list_display, "status"]
    list_filter = [ClientStatusFilter, *AccountsClientAdmin.list_filter]
    inlines = [*AccountsClientAdmin.inlines, ClientServiceInline]

    def get_queryset(self, request):
        return clients_with_status(super().get_queryset(request))

    @admin.display(description="status", ordering="is_active")
    def status(self, obj):
        return "Active" if obj.is_active else "Not active"


# Catalog ----------------------------------------------------------------------------
@admin.register(UnitOfMeasure)
class UnitOfMeasureAdmin(StaffModelAdmin):
    list_display = ["name", "symbol"]
    search_fields = ["name", "symbol"]


class EnumerationItemInline(admin.TabularInline):
    model = EnumerationItem
    extra = 1
    fields = ["code", "label", "position", "is_active"]


@admin.register(Enumeration)
class EnumerationAdmin(StaffModelAdmin):
    list_display = ["name", "item_count"]
    search_fields = ["name", "items__label"]
    inlines = [EnumerationItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_items=Count("items"))

    @admin.display(description="items", ordering="n_items")
    def item_count(self, obj):
        return obj.n_items


@admin.register(ProductGroup)
class ProductGroupAdmin(StaffModelAdmin):
    list_display = ["name", "provider", "product_type", "position"]
    list_filter = ["provider", "product_type"]
    search_fields = ["name"]


class PlanPriceInline(admin.TabularInline):
    model = PlanPrice
    extra = 0
    fields = ["period", "price", "setup_fee", "renewal_price"]


class AddonInline(admin.TabularInline):
    model = Addon
    extra = 0
    fields = ["name", "code", "kind", "unit", "enumeration", "included", "minimum", "maximum",
              "step", "default_value", "overage_price", "is_active"]
    show_change_link = True



@admin.register(TariffPlan)
class TariffPlanAdmin(StaffModelAdmin):
    list_display = ["name", "provider", "product_type", "charging", "module", "orderable",
                    "is_archived", "service_count"]
    list_filter = ["provider", "product_type", "charging", "module", "orderable", "is_archived"]
    search_fields = ["name", "description"]
    inlines = [PlanPriceInline, AddonInline]
    actions = ["archive", "unarchive"]
    change_form_template = "admin/services/tariffplan/change_form.html"
    fieldsets = [
        (None, {"fields": ["provider", "group", "product_type", "name", "description",
                           "position"]}),
        ("Billing", {"fields": ["charging", "trial_days", "grace_days"]}),
        ("Ordering and deletion", {"fields": ["orderable", "is_archived", "needs_configuration",
                                              "client_can_delete", "delete_refund",
                                              "instruction_manual"]}),
        ("Processing module", {"fields": ["module", "module_settings"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("provider").annotate(
            n_services=Count("services"))

    @admin.display(description="services", ordering="n_services")
    def service_count(self, obj):
        return obj.n_services

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "module":
            from django import forms

            return forms.ChoiceField(choices=module_choices(), label="Processing module",
                                     help_text=db_field.help_text)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.action(description="Archive: no new orders, existing services keep the plan",
                  permissions=["change"])
    def archive(self, request, queryset):
        count = queryset.update(is_archived=True)
        self.message_user(request, f"{count} plan(s) archived.")

    @admin.action(description="Take out of the archive", permissions=["change"])
    def unarchive(self, request, queryset):
        count = queryset.update(is_archived=False)
        self.message_user(request, f"{count} plan(s) back in the catalog.")


class AddonPriceInline(admin.TabularInline):
    model = AddonPrice
    extra = 0
    fields = ["period", "choice", "price"]


@admin.register(Addon)
class AddonAdmin(StaffModelAdmin):
    list_display = ["name", "plan", "kind", "unit", "included", "minimum", "maximum", "is_active"]
    list_filter = ["kind", "plan__provider", "is_active"]
    search_fields = ["name", "code", "plan__name"]
    inlines = [AddonPriceInline]
    list_select_related = ["plan", "unit"]

    def delete_model(self, request, obj):
        addon_delete(obj)

    def delete_queryset(self, request, queryset):
        for addon in queryset:
            addon_delete(addon)


# Service instances ----------------------------------------------------------------------
class ServiceAddonInline(admin.TabularInline):
    """Addon values are bought (a configuration change through the cart), not typed in."""

    model = ServiceAddon
    extra = 0
    fields = ["addon", "quantity", "choice"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ServiceHistoryInline(admin.TabularInline):
    model = ServiceHistory
    extra = 0
    fields = ["created_at", "actor_label", "from_status", "to_status", "operation", "reason"]
    readonly_fields = fields
    can_delete = False
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False


class ServiceOperationInline(admin.TabularInline):
    model = ServiceOperation
    extra = 0
    fields = ["created_at", "kind", "status", "attempts", "error", "finished_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


S = ServiceStatus
SUSPENDED = (S.SUSPENDED, S.SUSPENDED_BY_ADMIN, S.SUSPENDED_ABUSE)
# action -> (label, statuses it applies to, what it does)
STAFF_SERVICE_ACTIONS = {
    # Paid services only: an Ordered one is unpaid, and activating it would give it away
    # (its first period with it); paying its order activates it.
    "activate": ("Activate", (S.CONFIGURATION_REQUIRED, S.NOT_AVAILABLE),
                 lambda s, u: actions.service_activate(service=s, actor=u)),
    "suspend-admin": ("Suspend by administrator", (S.ACTIVE, S.SUSPENDED),
                      lambda s, u: actions.service_suspend(
                          service=s, reason_code=SuspendReason.ADMIN, actor=u)),
    "suspend-abuse": ("Suspend due to abuse", (S.ACTIVE, S.SUSPENDED),
                      lambda s, u: actions.service_suspend(
                          service=s, reason_code=SuspendReason.ABUSE, actor=u)),
    "resume": ("Resume", SUSPENDED, lambda s, u: actions.service_resume(service=s, actor=u)),
    "delete": ("Delete", (S.ORDERED, S.CONFIGURATION_REQUIRED, S.NOT_AVAILABLE, S.ACTIVE,
                          *SUSPENDED),
               lambda s, u: actions.service_delete(service=s, actor=u,
                                                   reason="Deleted by staff")),
}


# Staff changes to a service's billing facts -----------------------------------------------------
class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=billing_facts.REASON_MAX,
                             help_text=gettext_lazy("Kept in the service's history and the "
                                                    "action log."))

    def __init__(self, *args, service: Service, **kwargs):
        self.service = service
        super().__init__(*args, **kwargs)


class TransferForm(ReasonForm):
    to_client = forms.ModelChoiceField(
        label=gettext_lazy("New owner (client id)"), queryset=Client.objects.none(),
        widget=forms.NumberInput, error_messages={
            "invalid_choice": gettext_lazy("No other client of this provider has that id.")})
    field_order = ["to_client", "reason"]

    def __init__(self, *args, service: Service, **kwargs):
        super().__init__(*args, service=service, **kwargs)
        self.fields["to_client"].queryset = Client.objects.filter(
            provider_id=service.client.provider_id).exclude(pk=service.client_id)


class ExtendForm(ReasonForm):
    until = forms.DateField(label=gettext_lazy("New expiry"),
                            widget=forms.DateInput(attrs={"type": "date"}))
    field_order = ["until", "reason"]


class HoldForm(ReasonForm):
    until = forms.DateField(label=gettext_lazy("Hold until"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}),
                            help_text=gettext_lazy("Empty lifts the hold."))
    field_order = ["until", "reason"]


class AutoRenewForm(forms.Form):
    enabled = forms.TypedChoiceField(
        label=gettext_lazy("Auto-renewal"), coerce=lambda value: value == "on",
        choices=[("on", gettext_lazy("On")), ("off", gettext_lazy("Off"))])

    def __init__(self, *args, service: Service, **kwargs):
        self.service = service
        super().__init__(*args, **kwargs)
        self.fields["enabled"].initial = "on" if service.auto_renew else "off"


@dataclass(frozen=True)
class BillingAction:
    """A staff action on a service's billing facts: its right, whether it needs a fresh
    re-authentication, its form, and the use case it runs (returns the message shown)."""

    label: str
    permission: str
    form: type[forms.Form]
    run: Callable[..., str]
    reauthenticate: bool = True
    description: str = ""


def _transfer(request, service, data) -> str:
    billing_facts.service_transfer(service=service, to_client=data["to_client"],
                                   actor=request.user, reason=data["reason"], request=request)
    return _("The service now belongs to %(client)s.") % {"client": data["to_client"]}


def _extend(request, service, data) -> str:
    billing_facts.service_extend_free(service=service, until=data["until"], actor=request.user,
                                      reason=data["reason"], request=request)
    return _("The service was extended free of charge until %(day)s.") % {"day": data["until"]}


def _hold(request, service, data) -> str:
    billing_facts.service_set_suspension_hold(service=service, until=data["until"],
                                              actor=request.user, reason=data["reason"],
                                              request=request)
    return _("The suspension hold was changed.")


def _auto_renew(request, service, data) -> str:
    actions.service_set_auto_renew(service=service, enabled=data["enabled"],
                                   actor=request.user, request=request)
    return _("Auto-renewal is on.") if data["enabled"] else _("Auto-renewal is off.")


SERVICE_BILLING_ACTIONS: dict[str, BillingAction] = {
    "transfer": BillingAction(
        gettext_lazy("Transfer to another client"), "services.transfer_service", TransferForm,
        _transfer, description=gettext_lazy(
            "The service moves to another client of the same provider from now on; what "
            "was charged stays with the old owner.")),
    "extend-free": BillingAction(
        gettext_lazy("Free extension"), "services.extend_service_free", ExtendForm, _extend,
        description=gettext_lazy("The paid period is extended free of charge: no money moves, "
                                 "and the history says it was a free extension by you.")),
    "suspension-hold": BillingAction(
        # A hold lets a service run unpaid until its day: money, so re-authenticated.
        gettext_lazy("Suspension hold"), "services.hold_service_suspension", HoldForm, _hold,
        description=gettext_lazy(
            "The billing clock does not suspend the service for debt or expiry until this "
            "day.")),
    "auto-renew": BillingAction(
        gettext_lazy("Auto-renewal"), "services.set_service_auto_renew", AutoRenewForm,
        _auto_renew, reauthenticate=False),
}

# Facts that only the actions above (and the state machine) change.
BILLING_FACTS = ["client", "plan", "billing_period", "expires_on", "auto_renew", "anchor_day",
                 "suspension_hold_until", "status", "operation", "configuration_due",
                 "suspend_reason", "unpaid_since", "activated_at", "suspended_at",
                 "deleted_at", "created_at"]


@admin.register(Service)
class ServiceAdmin(StaffModelAdmin):
    list_display = ["id", "name", "client", "plan", "status_display", "expires_on", "auto_renew"]
    list_display_links = ["id", "name"]
    list_filter = ["status", "suspend_reason", "plan__product_type", "plan__provider",
                   "auto_renew", "plan"]
    search_fields = ["=id", "name", "client__name", "client__email", "parameters"]
    list_select_related = ["client", "plan"]
    inlines = [ServiceAddonInline, ServiceOperationInline, ServiceHistoryInline]
    readonly_fields = BILLING_FACTS
    fields = ["client", "plan", "name", "billing_period", "parameters", "auto_renew",
              "expires_on", "anchor_day", "suspension_hold_until", "status", "operation",
              "configuration_due", "suspend_reason", "unpaid_since", "created_at",
              "activated_at", "suspended_at", "deleted_at"]
    change_form_template = "admin/services/service/change_form.html"
    billing_actions = SERVICE_BILLING_ACTIONS

    @admin.display(description="status", ordering="status")
    def status_display(self, obj):
        return obj.status_label

    def has_add_permission(self, request):
        # A service comes from an order (paid, or free by a staff action), never from a form.
        return False

    def get_urls(self):
        return [path("<int:pk>/do/<slug:action>/", self.admin_site.admin_view(self.do_action),
                     name="services_service_do"),
                path("<int:pk>/billing/<slug:action>/",
                     self.admin_site.admin_view(self.billing_action_view),
                     name="services_service_billing"),
                *super().get_urls()]

    def do_action(self, request, pk: int, action: str):
        service = get_object_or_404(Service, pk=pk)
        if not self.has_change_permission(request, service):
            raise PermissionDenied
        if request.method != "POST" or action not in STAFF_SERVICE_ACTIONS:
            return redirect("admin:services_service_change", pk)
        label, statuses, run = STAFF_SERVICE_ACTIONS[action]
        if service.status not in statuses:
            messages.error(request, _("%(action)s does not apply to a service that is "
                                      "%(status)s.") % {"action": label,
                                                         "status": service.status_label})
            return redirect("admin:services_service_change", pk)
        try:
            run(service, request.user)
        except (actions.ActionNotAllowed, IllegalTransition) as error:
            messages.error(request, str(error))
        else:
            self.log_change(request, service, f"{label}")
            messages.success(request, f"{label}: done or queued.")
        return redirect("admin:services_service_change", pk)

    def billing_action_view(self, request, pk: int, action: str):
        billing_action = self.billing_actions.get(action)
        if billing_action is None:
            raise PermissionDenied
        if not request.user.has_perm(billing_action.permission):
            raise PermissionDenied
        service = get_object_or_404(Service.objects.select_related("client", "plan"), pk=pk)
        if request.method == "POST" and billing_action.reauthenticate:
            require_reauthentication(request)
        form = billing_action.form(request.POST or None, service=service)
        if request.method == "POST" and form.is_valid():
            try:
                message = billing_action.run(request, service, form.cleaned_data)
            except actions.ActionNotAllowed as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, message)
                return redirect("admin:services_service_change", pk)
        return render(request, "admin/services/service/billing_action.html", {
            **self.admin_site.each_context(request), "service": service, "form": form,
            "action": billing_action, "today": timezone.localdate(),
            "title": f"{billing_action.label}: {service}", "opts": self.model._meta,
            **self.billing_action_context(request, service, action, form)})

    def billing_action_context(self, request, service, action, form) -> dict:
        """More for the action's page (the cart's paid renewal shows the price)."""
        return {}

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None and self.has_change_permission(request, obj):
            context["service_actions"] = [
                (key, label) for key, (label, statuses, _run) in STAFF_SERVICE_ACTIONS.items()
                if obj.status in statuses]
        if obj is not None:
            context["billing_actions"] = [
                (key, action.label) for key, action in self.billing_actions.items()
                if request.user.has_perm(action.permission)]
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def has_delete_permission(self, request, obj=None):
        # A service is deleted through its lifecycle (the Delete action), never erased.
        return False


@admin.register(ServiceOperation)
class ServiceOperationAdmin(StaffModelAdmin):
    """Current operations: what is In progress, waiting for staff, or failed."""

    list_display = ["id", "service", "client", "kind", "status", "attempts", "error",
                    "created_at"]
    list_filter = ["status", "kind", "service__plan__module"]
    search_fields = ["=id", "service__name", "service__client__name", "error"]
    list_select_related = ["service__client"]
    readonly_fields = ["service", "kind", "status", "target_status", "suspend_reason",
                       "previous_status", "previous_suspend_reason", "params", "attempts",
                       "error", "requested_by", "created_at", "started_at", "lease_until",
                       "finished_at"]
    actions = ["mark_done", "retry", "cancel"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="client")
    def client(self, obj):
        return obj.service.client

    def _each(self, request, queryset, verb, run):
        done = 0
        for operation in queryset:
            try:
                run(operation)
            except (operations.OperationNotOpen, IllegalTransition) as error:
                self.message_user(request, f"#{operation.pk}: {error}", messages.ERROR)
            else:
                self.log_change(request, operation, verb)
                done += 1
        if done:
            self.message_user(request, f"{done} operation(s) {verb}.")

    @admin.action(description="Mark done (the work was done by hand)", permissions=["change"])
    def mark_done(self, request, queryset):
        self._each(request, queryset, "marked done", lambda op: operations.operation_mark_done(
            operation=op, actor=request.user))

    @admin.action(description="Retry failed operations", permissions=["change"])
    def retry(self, request, queryset):
        self._each(request, queryset, "queued again", lambda op: operations.operation_retry(
            operation=op, actor=request.user))

    @admin.action(description="Cancel (the service returns to its previous status)",
                  permissions=["change"])
    def cancel(self, request, queryset):
        self._each(request, queryset, "cancelled", lambda op: operations.operation_cancel(
            operation=op, actor=request.user))


@admin.register(ServiceUsage)
class ServiceUsageAdmin(StaffModelAdmin):
    list_display = ["service", "addon", "period_start", "period_end", "quantity", "source",
                    "recorded_at"]
    list_filter = ["source", "period_start"]
    search_fields = ["service__name", "service__client__name"]
    raw_id_fields = ["service", "addon"]


@admin.register(ServiceHistory)
class ServiceHistoryAdmin(ReadOnlyStaffAdmin):
    list_display = ["created_at", "service", "actor_label", "from_status", "to_status",
                    "operation", "reason"]
    list_filter = ["to_status", "operation"]
    search_fields = ["service__name", "actor_label", "reason"]
    list_select_related = ["service"]



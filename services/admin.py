from django.contrib import admin, messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.admin import ClientAdmin as AccountsClientAdmin
from accounts.admin_base import ReadOnlyStaffAdmin, StaffModelAdmin
from accounts.models import Client
from services import actions, operations
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

    @admin.action(description="Archive: no new orders, existing services keep the plan")
    def archive(self, request, queryset):
        count = queryset.update(is_archived=True)
        self.message_user(request, f"{count} plan(s) archived.")

    @admin.action(description="Take out of the archive")
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
    model = ServiceAddon
    extra = 0
    fields = ["addon", "quantity", "choice"]


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
    "activate": ("Activate", (S.ORDERED, S.CONFIGURATION_REQUIRED, S.NOT_AVAILABLE),
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


@admin.register(Service)
class ServiceAdmin(StaffModelAdmin):
    list_display = ["id", "name", "client", "plan", "status_display", "expires_on", "auto_renew"]
    list_display_links = ["id", "name"]
    list_filter = ["status", "suspend_reason", "plan__product_type", "plan__provider",
                   "auto_renew", "plan"]
    search_fields = ["=id", "name", "client__name", "client__email", "parameters"]
    list_select_related = ["client", "plan"]
    raw_id_fields = ["client"]
    inlines = [ServiceAddonInline, ServiceOperationInline, ServiceHistoryInline]
    readonly_fields = ["status", "operation", "configuration_due", "suspend_reason",
                       "unpaid_since", "activated_at", "suspended_at", "deleted_at", "created_at"]
    fields = ["client", "plan", "name", "billing_period", "parameters", "auto_renew",
              "expires_on", "anchor_day", "suspension_hold_until", "status", "operation",
              "configuration_due", "suspend_reason", "unpaid_since", "created_at",
              "activated_at", "suspended_at", "deleted_at"]
    change_form_template = "admin/services/service/change_form.html"

    @admin.display(description="status", ordering="status")
    def status_display(self, obj):
        return obj.status_label

    def get_urls(self):
        return [path("<int:pk>/do/<slug:action>/", self.admin_site.admin_view(self.do_action),
                     name="services_service_do"), *super().get_urls()]

    def do_action(self, request, pk: int, action: str):
        service = get_object_or_404(Service, pk=pk)
        if request.method != "POST" or action not in STAFF_SERVICE_ACTIONS:
            return redirect("admin:services_service_change", pk)
        if not self.has_change_permission(request, service):
            messages.error(request, "You may not change services.")
            return redirect("admin:services_service_change", pk)
        label, _, run = STAFF_SERVICE_ACTIONS[action]
        try:
            run(service, request.user)
        except (actions.ActionNotAllowed, IllegalTransition) as error:
            messages.error(request, str(error))
        else:
            self.log_change(request, service, f"{label}")
            messages.success(request, f"{label}: done or queued.")
        return redirect("admin:services_service_change", pk)

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None and self.has_change_permission(request, obj):
            context["service_actions"] = [
                (key, label) for key, (label, statuses, _) in STAFF_SERVICE_ACTIONS.items()
                if obj.status in statuses]
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

    @admin.action(description="Mark done (the work was done by hand)")
    def mark_done(self, request, queryset):
        self._each(request, queryset, "marked done", lambda op: operations.operation_mark_done(
            operation=op, actor=request.user))

    @admin.action(description="Retry failed operations")
    def retry(self, request, queryset):
        self._each(request, queryset, "queued again", lambda op: operations.operation_retry(
            operation=op, actor=request.user))

    @admin.action(description="Cancel (the service returns to its previous status)")
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



from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.admin_base import ReadOnlyStaffAdmin, ReauthenticatedWritesAdmin, StaffModelAdmin
from accounts.admin_second_factor import SecondFactorResetMixin
from accounts.impersonation import can_impersonate, impersonation_start
from accounts.models import (
    ActionLog,
    Client,
    ClientGroup,
    ClientUser,
    Company,
    Department,
    MessageTemplate,
    Notification,
    Payer,
    Provider,
    User,
)
from accounts.notifications import DEFAULT_TEMPLATES

admin.site.unregister(Group)
# Second factors and sessions are the users' own (their secrets and devices): staff reset a
# factor through the user's page (named right, re-authentication, logged), never by
# editing or reading these rows.
admin.site.unregister(Authenticator)
admin.site.unregister(UserSession)


@admin.register(User)
class UserAdmin(SecondFactorResetMixin, ReauthenticatedWritesAdmin, DjangoUserAdmin):
    """Users, staff and their rights: every change needs a fresh re-authentication."""

    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_superuser", "is_active", "client_link",
                    "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "name", "password"]}),
        ("Staff", {"fields": ["is_active", "is_staff", "is_superuser", "groups",
                              "user_permissions"],
                   "description": "Departments (groups) decide what an employee may open. "
                                  "Administrators (superusers) may do everything."}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"],
                "fields": ["email", "name", "is_staff", "password1", "password2"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = ["groups", "user_permissions"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only administrators hand out rights; nobody raises their own.
            fields += ["is_superuser", "is_staff", "groups", "user_permissions"]
        return fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("client_membership__client")

    def user_change_password(self, request, id, form_url=""):
        self._guard(request)
        return super().user_change_password(request, id, form_url)

    @admin.display(description="client")
    def client_link(self, obj):
        membership = getattr(obj, "client_membership", None)
        if membership is None:
            return "—"
        url = reverse("admin:accounts_client_change", args=[membership.client_id])
        return format_html('<a href="{}">{}</a>', url, membership.client)


@admin.register(Department)
class DepartmentAdmin(ReauthenticatedWritesAdmin):
    """Departments are the staff's permission sets, so only administrators edit them."""

    list_display = ["name", "employee_count"]
    search_fields = ["name"]
    filter_horizontal = ["permissions"]

    @admin.display(description="employees")
    def employee_count(self, obj):
        return obj.user_set.count()

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Provider)
class ProviderAdmin(StaffModelAdmin):
    list_display = ["name", "currency", "domain", "is_default", "created_at"]
    list_filter = ["currency", "is_default"]
    search_fields = ["name", "domain"]


@admin.register(Company)
class CompanyAdmin(StaffModelAdmin):
    list_display = ["name", "legal_name", "country", "vat_id", "invoice_prefix"]
    list_filter = ["country", "providers"]
    search_fields = ["name", "legal_name", "vat_id", "tax_id"]
    filter_horizontal = ["providers"]


@admin.register(ClientGroup)
class ClientGroupAdmin(StaffModelAdmin):
    list_display = ["name", "description", "requires_mfa"]
    search_fields = ["name"]


class ClientUserInline(admin.TabularInline):
    model = ClientUser
    fk_name = "client"
    extra = 0
    fields = ["user", "is_owner", "services_access", "finances_access", "support_access",
              "settings_access", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["user"]


class PayerInline(admin.TabularInline):
    model = Payer
    extra = 0
    fields = ["name", "kind", "country", "vat_id", "email", "is_default"]
    show_change_link = True


@admin.register(Client)
class ClientAdmin(StaffModelAdmin):
    list_display = ["id", "name", "kind", "provider", "email", "created_at"]
    list_display_links = ["id", "name"]
    list_filter = ["provider", "kind", "groups"]
    search_fields = ["=id", "name", "email", "phone", "memberships__user__email",
                     "payers__name", "payers__vat_id"]
    list_select_related = ["provider"]
    filter_horizontal = ["groups"]
    inlines = [ClientUserInline, PayerInline]
    change_form_template = "admin/accounts/client/change_form.html"
    readonly_fields = ["created_at"]
    fieldsets = [
        (None, {"fields": ["provider", "kind", "name", "email", "phone"]}),
        ("Staff only", {"fields": ["groups", "notes", "created_at"]}),
    ]

    def get_urls(self):
        return [
            path("<int:pk>/enter/", self.admin_site.admin_view(self.enter_view),
                 name="accounts_client_enter"),
            *super().get_urls(),
        ]

    def enter_view(self, request, pk: int):
        if not can_impersonate(request.user):
            raise PermissionDenied
        if request.method != "POST":
            return redirect("admin:accounts_client_change", pk)
        client = get_object_or_404(Client, pk=pk)
        impersonation_start(request=request, client=client)
        messages.info(request, f"You are in the client area of {client}.")
        return redirect("home")

    def render_change_form(self, request, context, *args, **kwargs):
        context["can_enter_as_client"] = can_impersonate(request.user)
        return super().render_change_form(request, context, *args, **kwargs)


@admin.register(Payer)
class PayerAdmin(StaffModelAdmin):
    list_display = ["name", "kind", "client", "country", "vat_id", "email", "is_default"]
    list_filter = ["kind", "country", "is_default"]
    search_fields = ["name", "vat_id", "tax_id", "email", "client__name"]
    list_select_related = ["client"]
    raw_id_fields = ["client"]


@admin.register(ActionLog)
class ActionLogAdmin(ReadOnlyStaffAdmin):
    list_display = ["created_at", "actor_label", "impersonator", "action", "object_repr",
                    "client", "ip_address"]
    list_filter = ["action", "created_at"]
    search_fields = ["actor_label", "action", "object_repr", "client__name"]
    list_select_related = ["client", "impersonator"]
    date_hierarchy = "created_at"


@admin.register(MessageTemplate)
class MessageTemplateAdmin(StaffModelAdmin):
    list_display = ["event", "subject", "is_active"]

    def get_changeform_initial_data(self, request):
        event = request.GET.get("event", "")
        subject, body = DEFAULT_TEMPLATES.get(event, ("", ""))
        return {"event": event, "subject": subject, "body": body}


@admin.register(Notification)
class NotificationAdmin(ReadOnlyStaffAdmin):
    list_display = ["created_at", "client", "event", "subject", "sent_at"]
    list_filter = ["event", "created_at"]
    search_fields = ["client__name", "email", "subject", "key"]
    list_select_related = ["client"]

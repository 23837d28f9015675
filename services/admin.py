from django.contrib import admin

from accounts.admin import ClientAdmin as AccountsClientAdmin
from accounts.models import Client
from services.selectors import clients_with_status


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


admin.site.unregister(Client)


@admin.register(Client)
class ClientAdmin(AccountsClientAdmin):
    """The clients list with the status that only the services layer can derive."""

    list_display = [*AccountsClientAdmin.list_display, "status"]
    list_filter = [ClientStatusFilter, *AccountsClientAdmin.list_filter]

    def get_queryset(self, request):
        return clients_with_status(super().get_queryset(request))

    @admin.display(description="status", boolean=False, ordering="is_active")
    def status(self, obj):
        return "Active" if obj.is_active else "Not active"

"""The base of every staff-panel model admin: its changes go to the action log too."""

from django.contrib import admin

from accounts.actionlog import log_action


class StaffModelAdmin(admin.ModelAdmin):
    list_per_page = 50
    show_full_result_count = False

    def log_addition(self, request, obj, message):
        log_action(actor=request.user, action=f"{self._label()}.created_by_staff", obj=obj,
                   request=request, details={"message": str(message)})
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        log_action(actor=request.user, action=f"{self._label()}.changed_by_staff", obj=obj,
                   request=request, details={"message": str(message)})
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            log_action(actor=request.user, action=f"{self._label()}.deleted_by_staff", obj=obj,
                       request=request)
        return super().log_deletions(request, queryset)

    def _label(self) -> str:
        return self.model._meta.model_name


class ReadOnlyStaffAdmin(StaffModelAdmin):
    """For records nobody edits by hand (logs, ledgers): staff may look, not touch."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

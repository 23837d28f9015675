from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.admin_base import ReadOnlyStaffAdmin
from engine.models import BillingDay, DayChunk


class DayChunkInline(admin.TabularInline):
    """The chunks of the day's latest runs: who has which, and what failed."""

    model = DayChunk
    fields = ["run", "step", "seq", "lo", "hi", "status", "attempts", "started_at",
              "finished_at", "error"]
    readonly_fields = fields
    ordering = ["-run", "step", "seq"]
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-run", "step", "seq")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(BillingDay)
class BillingDayAdmin(ReadOnlyStaffAdmin):
    """The billing clock's days: when each ran, its step now, and what its runs did
    (manage.py billing_run replays or dry-runs them)."""

    list_display = ["day", "status", "step", "run", "started_at", "finished_at", "charged",
                    "amounts", "renewed", "suspended", "deleted", "unpriced"]
    list_filter = ["status"]
    readonly_fields = ["day", "status", "runner", "step", "run", "queued_at", "started_at",
                       "finished_at", "stats"]
    inlines = [DayChunkInline]

    @admin.display(description=_("daily charges"))
    def charged(self, obj):
        return obj.stats.get("charged", "—")

    @admin.display(description=_("charged"))
    def amounts(self, obj):
        return ", ".join(f"{amount} {currency}"
                         for currency, amount in obj.stats.get("amounts", {}).items()) or "—"

    @admin.display(description=_("renewed"))
    def renewed(self, obj):
        return obj.stats.get("renewed", "—")

    @admin.display(description=_("suspended"))
    def suspended(self, obj):
        if not obj.stats:
            return "—"
        return obj.stats.get("suspended_unpaid", 0) + obj.stats.get("suspended_expired", 0)

    @admin.display(description=_("deleted"))
    def deleted(self, obj):
        return obj.stats.get("deleted", "—")

    @admin.display(description=_("not priced"))
    def unpriced(self, obj):
        """Services the clock could not price (no price for their period): staff fix the
        catalog; they are never charged as free."""
        count = obj.stats.get("unpriced", 0) + obj.stats.get("renewal_failed", 0)
        if not count:
            return "—"
        sample = obj.stats.get("unpriced_sample", []) + obj.stats.get(
            "renewal_failed_sample", [])
        return f"{count}: " + ", ".join(f"#{pk}" for pk in sample[:10])

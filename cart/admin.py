from django.contrib import admin
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from accounts.admin_base import ReadOnlyStaffAdmin, StaffModelAdmin
from accounts.models import Client
from cart.models import (
    Agreement,
    AgreementAcceptance,
    Order,
    OrderItem,
    PromoCode,
    PromoRedemption,
)
from cart.pricing import ItemError, ItemSpec, quote
from core.forms import parse_id
from services.models import AddonKind, TariffPlan
from services.pricing import AddonValue


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    fields = ["kind", "service", "description", "period_start", "period_end", "net", "discount"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyStaffAdmin):
    list_display = ["id", "created_at", "client", "status", "total", "currency", "invoice"]
    list_filter = ["status", "created_at"]
    search_fields = ["=id", "client__name", "invoice__number"]
    list_select_related = ["client", "invoice"]
    inlines = [OrderItemInline]


@admin.register(PromoCode)
class PromoCodeAdmin(StaffModelAdmin):
    list_display = ["code", "kind", "value", "currency", "uses", "max_uses",
                    "max_uses_per_client", "first_order_only", "valid_until", "is_active"]
    list_filter = ["kind", "is_active", "first_order_only"]
    search_fields = ["code"]
    filter_horizontal = ["plans"]
    readonly_fields = ["uses"]


@admin.register(PromoRedemption)
class PromoRedemptionAdmin(ReadOnlyStaffAdmin):
    list_display = ["created_at", "promo", "client", "order", "amount"]


@admin.register(Agreement)
class AgreementAdmin(StaffModelAdmin):
    list_display = ["title", "version", "updated_at"]
    filter_horizontal = ["plans"]


@admin.register(AgreementAcceptance)
class AgreementAcceptanceAdmin(ReadOnlyStaffAdmin):
    list_display = ["accepted_at", "agreement", "version", "client", "user", "ip_address"]


def price_preview(request, plan_id: int):
    """Staff price preview: what a plan costs a given client (or none) for each period, by
    the same pricing function as the cart and checkout."""
    plan = get_object_or_404(TariffPlan, pk=plan_id)
    client = Client.objects.filter(pk=parse_id(request.GET.get("client")) or 0).first() \
        or Client.objects.filter(provider=plan.provider).first()
    rows = []
    values = {a.pk: AddonValue(a.default_value or a.minimum) for a in plan.addons.exclude(
        kind=AddonKind.METERED)}
    for price in plan.prices.all():
        try:
            priced = quote(client=client, today=timezone.localdate(), when=timezone.now(),
                           specs=[ItemSpec(
                "new", plan=plan, period=price.period, values=values)]) if client else None
            rows.append((price, priced, ""))
        except ItemError as error:
            rows.append((price, None, str(error)))
    return render(request, "admin/cart/price_preview.html", {
        **admin.site.each_context(request), "plan": plan, "client": client, "rows": rows,
        "title": f"Price preview of {plan.name}"})

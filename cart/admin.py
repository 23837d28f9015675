import uuid

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin_base import ReadOnlyStaffAdmin, StaffModelAdmin
from accounts.models import Client
from billing.ledger import personal_account
from cart.models import (
    Agreement,
    AgreementAcceptance,
    Order,
    OrderItem,
    PromoCode,
    PromoRedemption,
)
from cart.pricing import ItemError, ItemSpec, quote
from cart.staff_renewal import RenewalRefused, staff_renewal_pay, staff_renewal_quote
from core.forms import parse_id
from core.money import format_money
from services.admin import SERVICE_BILLING_ACTIONS, BillingAction
from services.admin import ServiceAdmin as ServicesServiceAdmin
from services.models import AddonKind, BillingPeriod, Service, TariffPlan
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


# A paid renewal by staff, on the service's page ------------------------------------------------
class PaidRenewalForm(forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("Renew for"))
    idempotency_key = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, service: Service, **kwargs):
        kwargs.setdefault("initial", {"idempotency_key": uuid.uuid4().hex,
                                      "period": service.billing_period})
        super().__init__(*args, **kwargs)
        self.service = service
        self.fields["period"].choices = [
            (p.period, BillingPeriod(p.period).label) for p in service.plan.prices.all()
            if p.period != BillingPeriod.DAY]


def _renew_paid(request, service, data) -> str:
    order = staff_renewal_pay(service=service, period=data["period"], actor=request.user,
                              idempotency_key=data["idempotency_key"], now=timezone.now(),
                              request=request)
    return _("Renewed: order #%(order)s, %(total)s paid from the client's balance.") % {
        "order": order.pk, "total": format_money(order.total_money)}


PAID_RENEWAL = BillingAction(
    gettext_lazy("Paid renewal"), "services.renew_service_paid", PaidRenewalForm, _renew_paid,
    description=gettext_lazy("The client's own renewal: an order priced as the client would "
                             "be charged, paid from the client's balance."))

admin.site.unregister(Service)


@admin.register(Service)
class ServiceAdmin(ServicesServiceAdmin):
    billing_actions = {**SERVICE_BILLING_ACTIONS, "renew": PAID_RENEWAL}

    def billing_action_context(self, request, service, action, form) -> dict:
        if action != "renew":
            return {}
        period = form.data.get("period") if form.is_bound else form.initial.get("period")
        try:
            priced, problem = staff_renewal_quote(service=service, period=period or "",
                                                  now=timezone.now()), ""
        except RenewalRefused as error:
            priced, problem = None, str(error)
        return {"renewal_quote": priced, "renewal_problem": problem,
                "balance": personal_account(service.client).available}


PRICE_PREVIEW_PERMISSION = "services.view_tariffplan"


def price_preview(request, plan_id: int):
    """Staff price preview: what a plan costs a given client (or none) for each period, by
    the same pricing function as the cart and checkout. It shows the catalog's prices, and
    a named client's discounts only to those who may see clients."""
    if not request.user.has_perm(PRICE_PREVIEW_PERMISSION):
        raise PermissionDenied
    plan = get_object_or_404(TariffPlan, pk=plan_id)
    client = None
    if request.user.has_perm("accounts.view_client"):
        client = Client.objects.filter(pk=parse_id(request.GET.get("client")) or 0,
                                       provider=plan.provider).first()
    client = client or Client.objects.filter(provider=plan.provider).first()
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



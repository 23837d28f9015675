from types import MethodType

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin_base import ReadOnlyStaffAdmin, ReauthenticatedWritesAdmin, StaffModelAdmin
from accounts.reauth import require_reauthentication
from core.money import format_money, plain_amount
from payments import processing
from payments.admin_manual import record_payment_view
from payments.forms import PaymentMethodForm, RefundForm
from payments.gateways import gateway_for
from payments.models import (
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentStatus,
    Refund,
    SandboxTransaction,
    SavedPaymentMethod,
    WebhookEvent,
)
from payments.refunds import refund_ask, refund_payment, refundable


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReauthenticatedWritesAdmin):
    """Payment methods hold gateway keys and decide where money goes: every change needs a
    fresh re-authentication."""

    form = PaymentMethodForm
    readonly_fields = ["secrets_changed_at"]
    list_display = ["name", "company", "gateway", "currency", "minimum", "maximum",
                    "fee_percent", "for_topup", "for_direct_payment", "can_save", "is_enabled"]
    list_filter = ["company", "gateway", "currency", "is_enabled"]
    search_fields = ["name"]


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    fields = ["created_at", "from_status", "to_status", "source", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    fields = ["created_at", "amount", "currency", "status", "reason", "error", "attempts",
              "credit_note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(StaffModelAdmin):
    list_display = ["id", "created_at", "client", "method", "purpose", "amount", "fee",
                    "currency", "status", "outcome", "invoice"]
    list_filter = ["status", "outcome", "method__gateway", "purpose", "created_at"]
    search_fields = ["=id", "client__name", "gateway_reference", "invoice__number"]
    list_select_related = ["client", "method", "invoice"]
    inlines = [PaymentEventInline, RefundInline]
    actions = ["confirm_receipt", "query_gateway"]
    change_form_template = "admin/payments/payment/change_form.html"
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Payment._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Confirm receipt (bank transfer arrived)", permissions=["change"])
    def confirm_receipt(self, request, queryset):
        if not self.has_change_permission(request):
            raise PermissionDenied
        require_reauthentication(request)  # credits a client's balance by hand
        for payment in queryset:
            try:
                processing.staff_confirm_receipt(payment=payment, actor=request.user,
                                                 request=request)
            except processing.PaymentError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, f"Payment #{payment.pk} confirmed; the balance "
                                           "was credited.")

    @admin.action(description="Ask the gateway for the status", permissions=["change"])
    def query_gateway(self, request, queryset):
        for payment in queryset:
            payment = processing.payment_refresh(payment, source="staff query")
            self.message_user(request, f"Payment #{payment.pk}: {payment.get_status_display()}")

    def get_urls(self):
        return [path("<int:pk>/refund/", self.admin_site.admin_view(self.refund_view),
                     name="payments_payment_refund"),
                path("record/<int:client_id>/", self.admin_site.admin_view(
                    MethodType(record_payment_view, self)), name="payments_payment_record"),
                *super().get_urls()]

    def refund_view(self, request, pk: int):
        if not request.user.has_perm("payments.add_refund"):
            raise PermissionDenied
        payment = get_object_or_404(Payment.objects.select_related("method", "client"), pk=pk)
        if request.method == "POST":
            require_reauthentication(request)
        supported = gateway_for(payment.method).supports_refunds
        form = RefundForm(request.POST or None, payment=payment,
                          initial={"amount": plain_amount(refundable(payment))})
        if request.method == "POST" and not supported:
            form.add_error(None, _("%(method)s cannot refund.") % {"method": payment.method.name})
        elif request.method == "POST" and form.is_valid():
            try:
                refund = refund_payment(
                    payment=payment, amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"], actor=request.user,
                    idempotency_key=f"staff:{form.cleaned_data['idempotency_key']}",
                    request=request)
            except processing.PaymentError as error:
                form.add_error(None, str(error))
            else:
                self._tell_refund(request, refund)
                return redirect("admin:payments_payment_change", pk)
        return render(request, "admin/payments/payment/refund.html", {
            **self.admin_site.each_context(request), "payment": payment, "form": form,
            "refundable": refundable(payment), "supported": supported,
            "title": _("Refund payment #%(number)s") % {"number": payment.pk},
            "opts": self.model._meta})

    @staticmethod
    def _tell_refund(request, refund: Refund) -> None:
        amount = format_money(refund.money)
        if refund.status == Refund.Status.FAILED:  # the same form again, after a refusal
            messages.error(request, _("This refund of %(amount)s was refused: %(why)s") % {
                "amount": amount, "why": refund.error})
        elif refund.status == Refund.Status.SUCCEEDED:
            messages.success(request, _("%(amount)s was refunded; the client's balance was "
                                        "debited.") % {"amount": amount})
        else:
            messages.warning(request, _(
                "The gateway has not confirmed the refund of %(amount)s yet (%(why)s). The "
                "amount is held on the client's balance, and the gateway is asked again "
                "every few minutes.") % {"amount": amount, "why": refund.error})

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["can_refund"] = obj is not None and obj.status in (
            PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED) and request.user.has_perm(
            "payments.add_refund") and gateway_for(obj.method).supports_refunds
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)


@admin.register(SavedPaymentMethod)
class SavedPaymentMethodAdmin(StaffModelAdmin):
    list_display = ["label", "client", "method", "expires", "is_default", "autopay", "is_active"]
    list_filter = ["is_active", "autopay", "method"]
    search_fields = ["label", "client__name"]
    readonly_fields = ["client", "method", "token", "customer_reference", "label", "expires",
                       "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyStaffAdmin):
    list_display = ["received_at", "gateway", "event_type", "event_id", "payment", "result"]
    list_filter = ["gateway", "event_type"]
    search_fields = ["event_id", "result"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyStaffAdmin):
    list_display = ["created_at", "payment", "amount", "currency", "status", "reason",
                    "attempts", "asked_at", "error"]
    list_filter = ["status"]
    list_select_related = ["payment"]
    actions = ["ask_gateway"]

    def has_ask_gateway_permission(self, request) -> bool:
        return request.user.has_perm("payments.add_refund")

    @admin.action(description=gettext_lazy("Ask the gateway again"), permissions=["ask_gateway"])
    def ask_gateway(self, request, queryset):
        if not request.user.has_perm("payments.add_refund"):
            raise PermissionDenied
        for refund in queryset.filter(status=Refund.Status.PENDING).select_related(
                "payment__method"):
            refund = refund_ask(refund, actor=request.user, request=request)
            self.message_user(request, _("Refund #%(number)s: %(status)s") % {
                "number": refund.pk, "status": refund.get_status_display()})


@admin.register(SandboxTransaction)
class SandboxTransactionAdmin(ReadOnlyStaffAdmin):
    list_display = ["reference", "amount", "currency", "status", "created_at"]

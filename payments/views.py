"""Client area: Add funds, the payment's return and status, Credits/Payments, saved
payment methods; the sandbox gateway's page; webhook endpoints."""

from __future__ import annotations

import hmac

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.decorators import client_area
from accounts.models import Access
from accounts.rights import Area
from billing.models import InvoiceKind
from billing.selectors import account_get, credit_list, invoice_get
from payments import processing
from payments.forms import AddFundsForm, InvoicePayForm
from payments.gateways import GatewayError
from payments.gateways.sandbox import event_body, sign, webhook_secret
from payments.invoices import advance_invoice_cancel, advance_invoice_pay
from payments.models import (
    Payment,
    PaymentMethod,
    PaymentStatus,
    SandboxTransaction,
    SavedPaymentMethod,
)
from payments.tasks import deliver_sandbox_webhook
from payments.webhooks import webhook_receive


def _payment_get(request, pk: int) -> Payment:
    return get_object_or_404(Payment.objects.select_related("method", "invoice"),
                             pk=pk, client=request.client_context.client)


@client_area(Area.FINANCES, Access.MANAGE)
def add_funds(request):
    client = request.client_context.client
    form = AddFundsForm(request.POST or None, client=client)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            payment, created = processing.payment_create(
                client=client, method=data["method"], amount=data["amount"],
                idempotency_key=f"topup:{data['idempotency_key']}", user=request.user,
                save_method=data["save_method"], request=request)
            if not created:  # a second submit of the same form: show the first payment
                messages.info(request, _("This form was already sent: here is the payment it "
                                         "started. To add funds again, open Add funds anew."))
                return redirect("payments:detail", pk=payment.pk)
            return redirect(_start(request, payment))
        except (processing.PaymentError, GatewayError) as error:
            form.add_error(None, str(error))
    return render(request, "payments/add_funds.html", {
        "form": form, "account": account_get(client),
        "has_methods": form.fields["method"].queryset.exists(),
    })


def _start(request, payment: Payment) -> str:
    """Send the payment to its gateway; returns where the client goes next."""
    return_url = request.build_absolute_uri(
        reverse("payments:return", args=[payment.pk, payment.return_token]))
    result = processing.payment_start(payment, return_url=return_url, cancel_url=return_url)
    return result.redirect_url or reverse("payments:detail", args=[payment.pk])


@client_area(Area.FINANCES, Access.MANAGE)
def invoice_pay(request, pk: int):
    """Pay an unpaid advance-payment invoice with a method of the client's choice."""
    client = request.client_context.client
    invoice = invoice_get(client=client, pk=pk)
    if invoice.kind != InvoiceKind.ADVANCE_PAYMENT:
        messages.info(request, _("This invoice is paid with its order: pay the order."))
        return redirect("billing:invoice", pk=invoice.pk)
    under_way = processing.open_payment_for(invoice)
    form = InvoicePayForm(request.POST or None, client=client)
    if request.method == "POST" and form.is_valid():
        try:
            payment, created = advance_invoice_pay(
                invoice=invoice, client=client, method=form.cleaned_data["method"],
                idempotency_key=f"invoice:{invoice.pk}:{form.cleaned_data['idempotency_key']}",
                user=request.user, request=request)
            if not created:
                messages.info(request, _("This invoice already has a payment under way."))
                return redirect("payments:detail", pk=payment.pk)
            return redirect(_start(request, payment))
        except (processing.PaymentError, GatewayError) as error:
            form.add_error(None, str(error))
    return render(request, "payments/invoice_pay.html", {
        "invoice": invoice, "form": form, "under_way": under_way,
        "continue_url": processing.payment_continue_url(under_way) if under_way else ""})


@require_POST
@client_area(Area.FINANCES, Access.MANAGE)
def invoice_cancel(request, pk: int):
    invoice = invoice_get(client=request.client_context.client, pk=pk)
    try:
        advance_invoice_cancel(invoice=invoice, user=request.user, request=request)
    except processing.PaymentError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Invoice %(number)s is cancelled.") % {
            "number": invoice.number})
    return redirect("billing:invoice", pk=invoice.pk)


@require_POST
@client_area(Area.FINANCES, Access.MANAGE)
def payment_cancel(request, pk: int):
    """Give up an open payment (the gateway page left open, a transfer not made)."""
    payment = _payment_get(request, pk)
    try:
        payment = processing.payment_cancel(payment=payment, actor=request.user,
                                            request=request, reason=_("Cancelled by the client."))
    except processing.PaymentError as error:
        messages.error(request, str(error))
    else:
        if payment.is_captured:
            messages.info(request, _("Payment #%(number)s had already gone through before it "
                                     "could be cancelled.") % {"number": payment.pk})
        else:
            messages.success(request, _("Payment #%(number)s is cancelled.") % {
                "number": payment.pk})
    return HttpResponseRedirect(request.POST.get("next") if _safe_next(request) else
                                reverse("payments:detail", args=[payment.pk]))


def _safe_next(request) -> bool:
    """``next`` is a path of this site (``redirect()`` would take any other text for a
    view name, and fail)."""
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    return target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure())


@client_area(Area.FINANCES)
def payment_return(request, pk: int, token: str):
    """Where the gateway sends the client back. The token proves the link is ours."""
    payment = _payment_get(request, pk)
    if not hmac.compare_digest(payment.return_token, token):
        raise Http404
    # Failed too: a client who gave a payment up may have finished it at the gateway after
    # all; only the gateway's own word makes it succeed.
    if payment.is_open or payment.status == PaymentStatus.FAILED:
        payment = processing.payment_refresh(payment, source="return")
    return redirect("payments:detail", pk=payment.pk)


@client_area(Area.FINANCES)
def payment_detail(request, pk: int):
    payment = _payment_get(request, pk)
    context = {"payment": payment, "account": account_get(request.client_context.client),
               "waiting": payment.is_open,
               "continue_url": processing.payment_continue_url(payment),
               "can_manage": request.client_context.can(Area.FINANCES, Access.MANAGE)}
    template = "payments/partials/_payment_status.html" if request.htmx \
        else "payments/detail.html"
    return render(request, template, context)


@client_area(Area.FINANCES)
def credits(request):
    client = request.client_context.client
    page = Paginator(credit_list(client=client), 25).get_page(request.GET.get("page"))
    payments = (Payment.objects.filter(client=client).select_related("method", "invoice")
                .order_by("-created_at")[:20])
    return render(request, "payments/credits.html", {"page": page, "payments": payments})


@client_area(Area.FINANCES)
def saved_methods(request):
    client = request.client_context.client
    return render(request, "payments/saved_methods.html", {
        "saved": client.saved_methods.filter(is_active=True).select_related("method"),
        "can_manage": request.client_context.can(Area.FINANCES, Access.MANAGE),
    })


def _saved_get(request, pk: int) -> SavedPaymentMethod:
    return get_object_or_404(SavedPaymentMethod, pk=pk, is_active=True,
                             client=request.client_context.client)


@require_POST
@client_area(Area.FINANCES, Access.MANAGE)
def saved_method_remove(request, pk: int):
    saved = _saved_get(request, pk)
    processing.saved_method_remove(saved=saved, actor=request.user, request=request)
    messages.success(request, f"{saved.label} was removed.")
    return redirect("payments:saved_methods")


@require_POST
@client_area(Area.FINANCES, Access.MANAGE)
def saved_method_default(request, pk: int):
    saved = _saved_get(request, pk)
    processing.saved_method_make_default(saved=saved, actor=request.user, request=request)
    messages.success(request, f"{saved.label} is now the default.")
    return redirect("payments:saved_methods")


# The sandbox gateway's own pages (what a real gateway would host) -------------------------
def sandbox_page(request, reference: str):
    sandbox = get_object_or_404(SandboxTransaction, reference=reference)
    return render(request, "payments/sandbox.html", {"sandbox": sandbox})


@require_POST
def sandbox_decide(request, reference: str):
    outcome = request.POST.get("outcome")
    statuses = {"approve": SandboxTransaction.Status.SUCCEEDED,
                "decline": SandboxTransaction.Status.FAILED,
                "pending": SandboxTransaction.Status.PROCESSING}
    if outcome not in statuses:
        raise Http404
    with transaction.atomic():
        sandbox = get_object_or_404(SandboxTransaction.objects.select_for_update(),
                                    reference=reference)
        if sandbox.status == SandboxTransaction.Status.REQUIRES_ACTION:
            sandbox.status = statuses[outcome]
            if outcome == "approve" and sandbox.offer_to_save and request.POST.get("save"):
                sandbox.card_token = f"sbx_card_{sandbox.reference[4:]}"
            sandbox.save(update_fields=["status", "card_token"])
            event = {"approve": "payment.succeeded", "decline": "payment.failed",
                     "pending": "payment.pending"}[outcome]
            body = event_body(sandbox, event)
            url = request.build_absolute_uri(reverse("payments:webhook",
                                                     args=[sandbox.method_id]))
            signature = sign(body, webhook_secret(sandbox.method))
            transaction.on_commit(lambda: deliver_sandbox_webhook.delay(url, body.decode(),
                                                                        signature))
    return redirect(sandbox.return_url or "/")


@csrf_exempt
@require_POST
def webhook(request, method_id: int):
    method = get_object_or_404(PaymentMethod, pk=method_id)
    status, message = webhook_receive(method=method, body=request.body,
                                      headers=dict(request.headers))
    return HttpResponse(message, status=status, content_type="text/plain")

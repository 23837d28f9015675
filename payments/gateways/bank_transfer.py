"""Bank transfer: the client pays the invoice to the company's bank account; staff
confirm the receipt, which pays it. Refunds are sent by staff from the bank: recording
the refund is the staff member's word that the transfer went out."""

from __future__ import annotations

from django.urls import reverse

from payments.gateways.base import GatewayResult, PaymentGateway, RefundResult
from payments.models import PaymentStatus


class BankTransferGateway(PaymentGateway):
    code = "bank_transfer"
    supports_refunds = True
    minimum_tops_up = False

    def start(self, payment, *, return_url, cancel_url) -> GatewayResult:
        return GatewayResult(status=PaymentStatus.PENDING,
                             reference=f"bank-{payment.pk}",
                             redirect_url=reverse("billing:invoice", args=[payment.invoice_id]),
                             message="Pay the invoice by bank transfer; it is marked paid "
                                     "when the money arrives.")

    def query_status(self, payment) -> GatewayResult:
        return GatewayResult(status=None)  # only staff know

    def refund(self, payment, refund, amount) -> RefundResult:
        return RefundResult(status="succeeded", reference=f"bank-refund-{refund.pk}",
                            message="Sent by bank transfer from the company's account.")

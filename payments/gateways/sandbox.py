"""The sandbox gateway: a payment page served by the platform itself that approves,
declines or leaves a payment pending, and webhooks signed like a real gateway's and
delivered over HTTP to our own endpoint. The whole redirect flow runs with no network.

Method settings: ``webhook_secret`` (else one derived from SECRET_KEY); to see what a
real gateway can do to a refund: ``refuse_refunds`` (refused for good),
``refunds_confirm_later`` (accepted, confirmed when asked again) and
``refunds_unanswered`` (recorded, but the answer is lost, as in a timeout: only a
status query tells). A saved card whose token is ``sbx_card_declines`` is declined.

Signature: header ``Sandbox-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>">`` with the method's webhook secret; older than five minutes is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from payments.gateways.base import (
    GatewayError,
    GatewayResult,
    PaymentGateway,
    RefundResult,
    SavedToken,
    WebhookEvent,
    WebhookRejected,
)
from payments.models import PaymentStatus, SandboxRefund, SandboxTransaction

TOLERANCE_SECONDS = 300
HEADER = "Sandbox-Signature"
DECLINING_CARD = "sbx_card_declines"

_STATUS = {
    SandboxTransaction.Status.REQUIRES_ACTION: PaymentStatus.PENDING,
    SandboxTransaction.Status.PROCESSING: PaymentStatus.PENDING,
    SandboxTransaction.Status.SUCCEEDED: PaymentStatus.SUCCEEDED,
    SandboxTransaction.Status.FAILED: PaymentStatus.FAILED,
}


def webhook_secret(method) -> str:
    configured = method.webhook_secret
    if configured:
        return configured
    return hmac.new(settings.SECRET_KEY.encode(), f"sandbox-webhook-{method.pk}".encode(),
                    hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                      hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_body(sandbox: SandboxTransaction, event_type: str) -> bytes:
    return json.dumps({
        "id": f"evt_{uuid.uuid4().hex}",
        "type": event_type,
        "created": int(time.time()),
        "data": {"reference": sandbox.reference, "status": sandbox.status,
                 "amount": str(sandbox.amount), "currency": sandbox.currency,
                 "card_token": sandbox.card_token},
    }).encode()


def _result(sandbox: SandboxTransaction) -> GatewayResult:
    saved = None
    if sandbox.card_token and sandbox.status == SandboxTransaction.Status.SUCCEEDED:
        saved = SavedToken(token=sandbox.card_token, label="Sandbox card •••• 4242",
                           expires="12/2030")
    return GatewayResult(status=_STATUS[sandbox.status], reference=sandbox.reference,
                         saved=saved)


class SandboxGateway(PaymentGateway):
    code = "sandbox"
    supports_saved_methods = True
    supports_webhooks = True
    supports_refunds = True

    def start(self, payment, *, return_url, cancel_url) -> GatewayResult:
        sandbox = SandboxTransaction.objects.create(
            reference=f"sbx_{secrets.token_hex(12)}", method=self.method,
            amount=payment.amount + payment.fee, currency=payment.currency,
            description=f"Payment #{payment.pk}", offer_to_save=payment.save_method,
            return_url=return_url)
        return GatewayResult(status=PaymentStatus.PENDING, reference=sandbox.reference,
                             redirect_url=reverse("payments:sandbox_page",
                                                  args=[sandbox.reference]))

    def query_status(self, payment) -> GatewayResult:
        sandbox = SandboxTransaction.objects.filter(reference=payment.gateway_reference).first()
        if sandbox is None:
            return GatewayResult(status=PaymentStatus.FAILED, message="Unknown to the sandbox.")
        return _result(sandbox)

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        header = headers.get(HEADER, "")
        try:
            parts = dict(item.split("=", 1) for item in header.split(","))
            timestamp, signature = int(parts["t"]), parts["v1"]
        except (ValueError, KeyError) as error:
            raise WebhookRejected("Missing or malformed signature header.") from error
        if abs(time.time() - timestamp) > TOLERANCE_SECONDS:
            raise WebhookRejected("The signature is too old.")
        expected = sign(body, webhook_secret(self.method), timestamp).split("v1=")[1]
        if not hmac.compare_digest(expected, signature):
            raise WebhookRejected("The signature does not match.")
        try:
            payload = json.loads(body)
            data = payload["data"]
            event_id, event_type = payload["id"], payload["type"]
        except (ValueError, KeyError, TypeError) as error:
            raise WebhookRejected("The body is not a sandbox event.") from error
        status = {"payment.succeeded": PaymentStatus.SUCCEEDED,
                  "payment.failed": PaymentStatus.FAILED,
                  "payment.pending": PaymentStatus.PENDING}.get(event_type)
        saved = None
        if status == PaymentStatus.SUCCEEDED and data.get("card_token"):
            saved = SavedToken(token=data["card_token"], label="Sandbox card •••• 4242",
                               expires="12/2030")
        result = GatewayResult(status=status, reference=data.get("reference", ""),
                               saved=saved) if status else None
        return WebhookEvent(event_id, event_type, data.get("reference", ""), result, payload)

    def cancel(self, payment) -> GatewayResult:
        """Void the payment page: once voided, the page cannot approve it any more."""
        with transaction.atomic():
            sandbox = (SandboxTransaction.objects.select_for_update()
                       .filter(reference=payment.gateway_reference).first())
            if sandbox is None:
                return GatewayResult(status=PaymentStatus.FAILED, message="Cancelled by the "
                                                                          "client.")
            if sandbox.status == SandboxTransaction.Status.REQUIRES_ACTION:
                sandbox.status = SandboxTransaction.Status.FAILED
                sandbox.save(update_fields=["status"])
                return GatewayResult(status=PaymentStatus.FAILED, reference=sandbox.reference,
                                     message="Cancelled by the client.")
        return _result(sandbox)  # too late: what the sandbox says now

    def charge_saved(self, payment, saved) -> GatewayResult:
        declined = saved.token == DECLINING_CARD
        # Idempotent by our payment, as a real gateway is by the key we send: charging
        # the same payment again returns the first charge.
        sandbox, _created = SandboxTransaction.objects.get_or_create(
            reference=f"sbx_saved_{payment.pk}", defaults={
                "method": self.method, "amount": payment.amount + payment.fee,
                "currency": payment.currency,
                "description": f"Payment #{payment.pk} (saved card)",
                "status": SandboxTransaction.Status.FAILED if declined
                else SandboxTransaction.Status.SUCCEEDED})
        return GatewayResult(status=_STATUS[sandbox.status], reference=sandbox.reference,
                             message="Card declined" if declined else "")

    def refund(self, payment, refund, amount) -> RefundResult:
        options = self.method.settings or {}
        if options.get("refuse_refunds"):
            raise GatewayError("The sandbox refuses refunds for this method (its settings).")
        record = self._refund_record(payment, refund, amount,
                                     later=bool(options.get("refunds_confirm_later")))
        if options.get("refunds_unanswered"):
            return RefundResult(status="unknown", message="The sandbox did not answer in time.")
        return RefundResult(status=record.status, reference=record.reference)

    def query_refund(self, payment, refund) -> RefundResult:
        record = SandboxRefund.objects.filter(idempotency_key=f"refund-{refund.pk}").first()
        if record is None:  # the request never reached the sandbox: make it now
            return self.refund(payment, refund, refund.money)
        if record.status == SandboxRefund.Status.PENDING:  # processed since
            SandboxRefund.objects.filter(pk=record.pk).update(
                status=SandboxRefund.Status.SUCCEEDED)
        return RefundResult(status="succeeded", reference=record.reference)

    @transaction.atomic
    def _refund_record(self, payment, refund, amount, *, later: bool) -> SandboxRefund:
        """The sandbox's own side: one refund per idempotency key, never more than was
        paid."""
        key = f"refund-{refund.pk}"
        sandbox = (SandboxTransaction.objects.select_for_update()
                   .filter(reference=payment.gateway_reference).first())
        if sandbox is None or sandbox.status != SandboxTransaction.Status.SUCCEEDED:
            raise GatewayError("The sandbox has no captured payment to refund.")
        record = SandboxRefund.objects.filter(idempotency_key=key).first()
        if record is not None:
            return record
        if sandbox.refunded + amount.amount > sandbox.amount:
            raise GatewayError("The sandbox refuses to refund more than was paid.")
        sandbox.refunded += amount.amount
        sandbox.save(update_fields=["refunded"])
        return SandboxRefund.objects.create(
            reference=f"sbx_re_{secrets.token_hex(10)}", sandbox_transaction=sandbox,
            amount=amount.amount, currency=sandbox.currency, idempotency_key=key,
            status=SandboxRefund.Status.PENDING if later else SandboxRefund.Status.SUCCEEDED)

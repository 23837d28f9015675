"""Stripe, through the official `stripe` library: Checkout Sessions for paying with a
redirect, PaymentIntents for charging a saved card off-session, refunds, and webhooks
verified with the library's own signature check.

Every call that creates something at Stripe carries an idempotency key derived from our
own row id, so a retried call never charges twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import stripe

from core.money import minor_unit_places
from payments.gateways.base import (
    GatewayError,
    GatewayResult,
    PaymentGateway,
    RefundResult,
    SavedToken,
    WebhookEvent,
    WebhookRejected,
)
from payments.models import PaymentStatus


def minor_units(amount, currency: str) -> int:
    return int(amount * (10 ** minor_unit_places(currency)))


def _card_token(intent) -> SavedToken | None:
    method = intent.get("payment_method") if intent else None
    if not method or isinstance(method, str):
        return None
    card = method.get("card") or {}
    label = f"{str(card.get('brand', 'card')).title()} •••• {card.get('last4', '????')}"
    expires = (f"{card['exp_month']:02d}/{card['exp_year']}"
               if card.get("exp_month") and card.get("exp_year") else "")
    return SavedToken(token=method["id"], label=label,
                      customer_reference=intent.get("customer") or "", expires=expires)


_INTENT_STATUS = {
    "succeeded": PaymentStatus.SUCCEEDED,
    "processing": PaymentStatus.PENDING,
    "requires_action": PaymentStatus.PENDING,
    "requires_confirmation": PaymentStatus.PENDING,
    "requires_capture": PaymentStatus.PENDING,
    "requires_payment_method": PaymentStatus.FAILED,
    "canceled": PaymentStatus.FAILED,
}


# Errors after which Stripe may or may not have acted (no answer, its own failure, the
# same idempotent request still running): the outcome is unknown and asked again later,
# never taken for a refusal.
_NO_ANSWER = (stripe.APIConnectionError, stripe.APIError, stripe.IdempotencyError,
              stripe.RateLimitError)

# Stripe's refund statuses: a refund to a card is usually succeeded at once; some
# payment methods take days (pending), and a refund can fail after it was accepted.
_REFUND_STATUS = {"succeeded": "succeeded", "pending": "pending",
                  "requires_action": "pending", "failed": "failed", "canceled": "failed"}


class StripeGateway(PaymentGateway):
    code = "stripe"
    supports_saved_methods = True
    supports_webhooks = True
    supports_refunds = True
    refund_window = timedelta(days=10)  # Stripe: "5-10 business days" at most
    # Tests replace the HTTP client with recorded responses; nothing else does.
    http_client: ClassVar[stripe.HTTPClient | None] = None

    def _client(self) -> stripe.StripeClient:
        key = self.method.secret_key
        if not key:
            raise GatewayError("This Stripe method has no secret key configured.")
        return stripe.StripeClient(key, http_client=self.http_client, max_network_retries=2)

    def start(self, payment, *, return_url, cancel_url) -> GatewayResult:
        params = {
            "mode": "payment",
            "success_url": return_url,
            "cancel_url": cancel_url,
            "client_reference_id": str(payment.pk),
            "metadata": {"payment_id": str(payment.pk)},
            "line_items": [{
                "quantity": 1,
                "price_data": {
                    "currency": payment.currency.lower(),
                    "unit_amount": minor_units(payment.amount + payment.fee, payment.currency),
                    "product_data": {"name": f"Payment #{payment.pk}"},
                },
            }],
            "payment_intent_data": {"metadata": {"payment_id": str(payment.pk)}},
        }
        if payment.save_method:
            params["payment_intent_data"]["setup_future_usage"] = "off_session"
            params["customer_creation"] = "always"
        try:
            session = self._client().v1.checkout.sessions.create(
                params=params, options={"idempotency_key": f"payment-{payment.pk}-checkout"})
        except _NO_ANSWER:
            # The session may or may not exist: never guess. The same call with the same
            # idempotency key, made later, tells (payments.processing.payment_resolve).
            return GatewayResult(status=PaymentStatus.UNKNOWN,
                                 message="Stripe did not answer; the payment is checked later.")
        except stripe.StripeError as error:
            raise GatewayError(f"Stripe refused the payment: {error.user_message or error}") \
                from error
        return GatewayResult(status=PaymentStatus.PENDING, reference=session.id,
                             redirect_url=session.url)

    def query_status(self, payment) -> GatewayResult:
        reference = payment.gateway_reference
        try:
            if reference.startswith("pi_"):
                intent = self._client().v1.payment_intents.retrieve(
                    reference, params={"expand": ["payment_method"]}).to_dict()
                return GatewayResult(status=_INTENT_STATUS.get(intent["status"]),
                                     reference=reference, saved=_card_token(intent))
            session = self._client().v1.checkout.sessions.retrieve(
                reference, params={"expand": ["payment_intent.payment_method"]}).to_dict()
        except stripe.APIConnectionError:
            return GatewayResult(status=PaymentStatus.UNKNOWN, reference=reference,
                                 message="Stripe did not answer.")
        except stripe.StripeError as error:
            raise GatewayError(str(error)) from error
        if session.get("payment_status") in ("paid", "no_payment_required"):
            intent = session.get("payment_intent")
            return GatewayResult(status=PaymentStatus.SUCCEEDED, reference=reference,
                                 saved=_card_token(intent) if payment.save_method else None,
                                 message=intent["id"] if isinstance(intent, dict) else "")
        if session.get("status") == "expired":
            return GatewayResult(status=PaymentStatus.FAILED, reference=reference,
                                 message="The checkout expired.")
        return GatewayResult(status=PaymentStatus.PENDING, reference=reference)

    def cancel(self, payment) -> GatewayResult:
        """Expire the Checkout Session so it cannot be paid any more; a session already
        paid (or an off-session charge) is reported as it is."""
        reference = payment.gateway_reference
        if not reference.startswith("cs_"):
            return self.query_status(payment) if reference else GatewayResult(
                status=PaymentStatus.FAILED, message="Cancelled by the client.")
        try:
            self._client().v1.checkout.sessions.expire(reference)
        except stripe.InvalidRequestError:
            return self.query_status(payment)  # not open any more: paid, or expired
        except stripe.StripeError as error:
            raise GatewayError(f"Stripe did not cancel the payment: {error}") from error
        return GatewayResult(status=PaymentStatus.FAILED, reference=reference,
                             message="Cancelled by the client.")

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> WebhookEvent:
        secret = self.method.webhook_secret
        if not secret:
            raise WebhookRejected("No webhook secret configured for this method.")
        try:
            event = stripe.Webhook.construct_event(body, headers.get("Stripe-Signature"), secret)
        except (ValueError, stripe.SignatureVerificationError) as error:
            raise WebhookRejected(str(error)) from error
        payload = event.to_dict()
        obj = payload["data"]["object"]
        status = {
            "checkout.session.completed": PaymentStatus.SUCCEEDED
            if obj.get("payment_status") == "paid" else PaymentStatus.PENDING,
            "checkout.session.async_payment_succeeded": PaymentStatus.SUCCEEDED,
            "checkout.session.async_payment_failed": PaymentStatus.FAILED,
            "checkout.session.expired": PaymentStatus.FAILED,
            "payment_intent.succeeded": PaymentStatus.SUCCEEDED,
            "payment_intent.payment_failed": PaymentStatus.FAILED,
        }.get(payload["type"])
        intent = obj.get("payment_intent") if payload["type"].startswith("checkout.") \
            else obj.get("id")
        result = GatewayResult(status=status, reference=obj.get("id", ""),
                               message=intent if isinstance(intent, str) else "") \
            if status else None
        metadata = obj.get("metadata") or {}
        payment_id = metadata.get("payment_id") or obj.get("client_reference_id")
        return WebhookEvent(payload["id"], payload["type"], obj.get("id", ""), result, payload,
                            payment_id=int(payment_id) if payment_id else None)

    def charge_saved(self, payment, saved) -> GatewayResult:
        try:
            intent = self._client().v1.payment_intents.create(params={
                "amount": minor_units(payment.amount + payment.fee, payment.currency),
                "currency": payment.currency.lower(),
                "customer": saved.customer_reference,
                "payment_method": saved.token,
                "off_session": True,
                "confirm": True,
                "metadata": {"payment_id": str(payment.pk)},
            }, options={"idempotency_key": f"payment-{payment.pk}-offsession"})
        except stripe.CardError as error:
            return GatewayResult(status=PaymentStatus.FAILED,
                                 message=error.user_message or "The card was declined.")
        except _NO_ANSWER:
            return GatewayResult(status=PaymentStatus.UNKNOWN,
                                 message="Stripe did not answer; the status is checked later.")
        except stripe.StripeError as error:
            raise GatewayError(str(error)) from error
        return GatewayResult(status=_INTENT_STATUS.get(intent.status), reference=intent.id)

    def refund(self, payment, refund, amount) -> RefundResult:
        intent = payment.details.get("payment_intent") or (
            payment.gateway_reference if payment.gateway_reference.startswith("pi_") else "")
        if not intent:
            raise GatewayError("The payment's PaymentIntent is not known yet.")
        try:
            result = self._client().v1.refunds.create(params={
                "payment_intent": intent, "amount": minor_units(amount.amount, payment.currency),
                "metadata": {"refund_id": str(refund.pk), "payment_id": str(payment.pk)},
            }, options={"idempotency_key": f"refund-{refund.pk}"})
        except _NO_ANSWER:
            return RefundResult(status="unknown", message="Stripe did not answer; the refund "
                                                          "is checked again later.")
        except stripe.StripeError as error:
            raise GatewayError(f"Stripe refused the refund: {error.user_message or error}") \
                from error
        return _refund_result(result)

    def query_refund(self, payment, refund) -> RefundResult:
        if not refund.gateway_reference:  # never answered: the same idempotent request
            return self.refund(payment, refund, refund.money)
        try:
            result = self._client().v1.refunds.retrieve(refund.gateway_reference)
        except stripe.StripeError as error:  # a question unanswered is not a refusal
            return RefundResult(status="unknown", reference=refund.gateway_reference,
                                message=f"Stripe did not tell: {error}")
        return _refund_result(result)


def _refund_result(result) -> RefundResult:
    return RefundResult(status=_REFUND_STATUS.get(result.status, "pending"),
                        reference=result.id,
                        message=getattr(result, "failure_reason", None) or "")

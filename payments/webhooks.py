"""Receiving webhooks: verify, store by event id, apply, all in one transaction.

The event row and its effect commit together: a duplicate delivery (or fifty at once)
waits on the unique event id and then finds it taken, so it changes nothing; a delivery
whose handling fails leaves no row, so the gateway's retry is handled afresh.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.gateways import WebhookRejected, gateway_for
from payments.models import Payment, PaymentMethod, WebhookEvent
from payments.processing import payment_apply


def webhook_receive(*, method: PaymentMethod, body: bytes, headers: dict[str, str]
                    ) -> tuple[int, str]:
    """Returns the HTTP status and a short message for the gateway."""
    gateway = gateway_for(method)
    try:
        event = gateway.parse_webhook(body, headers)
    except WebhookRejected as error:
        return 400, f"rejected: {error}"
    try:
        with transaction.atomic():
            record = WebhookEvent.objects.create(gateway=method.gateway, event_id=event.event_id,
                                                 event_type=event.event_type,
                                                 payload=event.payload)
            payment = _payment_for(method, event)
            result = "no payment" if payment is None else "no status"
            if payment is not None and event.result is not None:
                payment = payment_apply(payment_id=payment.pk, result=event.result,
                                        source=f"webhook {event.event_type}")
                result = f"payment {payment.pk} is {payment.status}"
            record.payment = payment
            record.processed_at = timezone.now()
            record.result = result
            record.save(update_fields=["payment", "processed_at", "result"])
    except IntegrityError:
        return 200, "duplicate event: already handled"
    return 200, result


def _payment_for(method: PaymentMethod, event) -> Payment | None:
    payments = Payment.objects.filter(method=method)
    if event.payment_id is not None:
        return payments.filter(pk=event.payment_id).first()
    if event.reference:
        return payments.filter(gateway_reference=event.reference).first()
    return None

"""What a payment sets in motion, once it has committed: renewals that waited for money and
daily services stopped for debt are paid and resumed (``engine.resume``). The order a
payment was for is already complete by then (``cart.order_payments``)."""

from __future__ import annotations

from django.dispatch import receiver
from django.utils import timezone

from billing.promises import promised_payment_taken
from engine.resume import resume_after_payment
from payments.processing import payment_succeeded


@receiver(payment_succeeded)
def resume_after_a_payment(sender, payment, **kwargs):
    resume_after_payment(payment.client, now=timezone.now())


@receiver(promised_payment_taken)
def resume_after_promise(sender, promise, **kwargs):
    resume_after_payment(promise.client, now=timezone.now())

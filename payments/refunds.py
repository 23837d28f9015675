"""Refunds by staff: money goes back to where it came from, through the gateway.

The refund is written ahead: the client's balance is debited (an expense: "Refund to
...") and the Refund row created in one transaction before the gateway is asked; if the
gateway refuses, the debit is reversed. The balance therefore never pays out money the
client has already spent, and a retried request (same key) refunds once.
"""

from __future__ import annotations

from django.db import transaction
from djmoney.money import Money

from accounts.actionlog import log_action
from accounts.models import User
from billing.charges import ChargeSpec, charges_post
from billing.corrections import transaction_reverse
from billing.invoicing import credit_note_issue
from billing.ledger import InsufficientFunds, Leg, system_account
from billing.models import AccountKind, ChargeKind, TransactionKind
from core.money import format_money, round_money
from payments.gateways import GatewayError, gateway_for
from payments.models import Payment, PaymentEvent, PaymentStatus, Refund
from payments.processing import TRANSITIONS, PaymentError

REFUNDABLE = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)


def refundable(payment: Payment) -> Money:
    """What may still be refunded: the amount, less refunds done or under way (the fee
    stays with the provider)."""
    pending = sum(r.amount for r in payment.refunds.filter(status=Refund.Status.PENDING))
    return Money(payment.amount - payment.refunded - pending, payment.currency)


@transaction.atomic
def _write_ahead(payment: Payment, amount: Money, reason: str, actor: User,
                 key: str) -> Refund:
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status not in REFUNDABLE:
        raise PaymentError(f"Payment #{payment.pk} is {payment.get_status_display().lower()};"
                           " only a succeeded payment can be refunded.")
    if amount.amount <= 0:
        raise PaymentError("The refund must be greater than zero.")
    if amount > refundable(payment):
        raise PaymentError(f"At most {format_money(refundable(payment))} of this payment can "
                           "still be refunded.")
    refund = Refund.objects.create(payment=payment, amount=amount.amount,
                                   currency=payment.currency, reason=reason,
                                   idempotency_key=key, requested_by=actor)
    method = payment.method
    clearing = system_account(AccountKind.GATEWAY_CLEARING, method.currency,
                              company=method.company, key=f"method:{method.pk}",
                              name=f"Clearing {method.name}")
    try:
        record, _ = charges_post(
            client=payment.client, kind=TransactionKind.REFUND, actor=actor,
            idempotency_key=f"refund:{refund.pk}",
            description=f"Refund of payment #{payment.pk} to {method.name}",
            charges=[ChargeSpec(ChargeKind.REFUND, f"Refund to {method.name}: {reason}",
                                amount, idempotency_key=f"refund:{refund.pk}",
                                derivation={"payment": payment.pk, "reason": reason})],
            counter=[Leg(clearing, amount)])
    except InsufficientFunds as error:
        raise PaymentError(f"The client's balance does not cover the refund: {error}") \
            from error
    refund.transaction = record
    refund.save(update_fields=["transaction"])
    return refund


def refund_payment(*, payment: Payment, amount: Money, reason: str, actor: User,
                   idempotency_key: str, request=None) -> Refund:
    """Refund all or part of a payment through its gateway."""
    reason = reason.strip()
    if not reason:
        raise PaymentError("A refund needs a reason.")
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    amount = round_money(amount)
    refund = _write_ahead(payment, amount, reason, actor, idempotency_key)
    try:
        result = gateway_for(payment.method).refund(payment, refund, amount)
        failed = result.status != "succeeded"
        message = result.message
    except GatewayError as error:
        failed, message, result = True, str(error), None
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if failed:
            _undo(refund, actor, message)
        else:
            _record_refunded(refund, amount)
            refund.status = Refund.Status.SUCCEEDED
            refund.gateway_reference = result.reference
            if payment.invoice_id:
                refund.credit_note = credit_note_issue(
                    invoice=payment.invoice, amount=amount, reason=f"Refund: {reason}",
                    ledger_transaction=refund.transaction)
            refund.save(update_fields=["status", "gateway_reference", "credit_note"])
    log_action(actor=actor, action="payment.refunded" if not failed else "payment.refund_failed",
               obj=payment, client=payment.client, request=request,
               details={"amount": str(amount.amount), "reason": reason, "error": message})
    if failed:
        raise PaymentError(f"The gateway did not refund: {message}")
    return refund


def _record_refunded(refund: Refund, amount: Money) -> None:
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    payment.refunded += amount.amount
    target = (PaymentStatus.REFUNDED if payment.refunded == payment.amount
              else PaymentStatus.PARTIALLY_REFUNDED)
    if target not in TRANSITIONS[payment.status]:
        raise PaymentError(f"Payment #{payment.pk} cannot go {payment.status} -> {target}.")
    previous, payment.status = payment.status, target
    payment.save(update_fields=["refunded", "status", "updated_at"])
    PaymentEvent.objects.create(payment=payment, from_status=previous, to_status=target,
                                source="staff", note=f"refund of {format_money(amount)}")


def _undo(refund: Refund, actor: User, message: str) -> None:
    transaction_reverse(original=refund.transaction, reason="The gateway refused the refund",
                        actor=actor)
    refund.status = Refund.Status.FAILED
    refund.error = message[:255]
    refund.save(update_fields=["status", "error"])

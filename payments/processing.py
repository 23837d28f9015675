"""Payments: their state machine, starting one, applying what a gateway reports, and
charging a saved payment method.

Only a payment that reaches Succeeded credits the personal account, exactly once: the
credit's idempotency key is the payment's id, the payment row is locked while its status
changes, and a report that arrives again, late or out of order changes nothing.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone
from djmoney.money import Money

from accounts.actionlog import log_action
from accounts.models import Client, User
from accounts.notifications import notify
from billing.invoicing import advance_payment_invoice, invoice_mark_paid
from billing.ledger import Leg, ledger_post, lock_accounts, personal_account, system_account
from billing.models import AccountKind, TransactionKind
from core.money import format_money, minor_unit_places, round_money
from payments.gateways import GatewayError, GatewayResult, gateway_for
from payments.models import (
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentPurpose,
    PaymentStatus,
    SavedPaymentMethod,
)

logger = logging.getLogger(__name__)
P = PaymentStatus

# status -> the statuses a gateway report may move it to. Failed can still become
# Succeeded (a payer who retried within the same checkout); Refunded is the end.
TRANSITIONS: dict[str, frozenset[str]] = {
    P.NEW: frozenset({P.PENDING, P.SUCCEEDED, P.FAILED, P.UNKNOWN}),
    P.PENDING: frozenset({P.SUCCEEDED, P.FAILED, P.UNKNOWN}),
    P.UNKNOWN: frozenset({P.PENDING, P.SUCCEEDED, P.FAILED}),
    P.FAILED: frozenset({P.SUCCEEDED}),
    P.SUCCEEDED: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED}),
    P.PARTIALLY_REFUNDED: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED}),
    P.REFUNDED: frozenset(),
}

# Sent (after commit) when a payment succeeds: higher layers (the cart) listen to it.
payment_succeeded = Signal()


class PaymentError(Exception):
    """The payment cannot be made as asked; the message says why. Nothing was written."""


def parse_amount(raw: str | Decimal, currency: str) -> Money:
    """A positive amount in whole minor units of the currency, or a clear error."""
    try:
        amount = Decimal(str(raw).strip().replace(",", "."))
    except (InvalidOperation, ValueError) as error:
        raise PaymentError("Enter the amount as a number, e.g. 25.00.") from error
    if not amount.is_finite() or amount <= 0:
        raise PaymentError("The amount must be greater than zero.")
    if amount != amount.quantize(Decimal(1).scaleb(-minor_unit_places(currency))):
        raise PaymentError(f"{currency} amounts have at most "
                           f"{minor_unit_places(currency)} decimal places.")
    return Money(amount, currency)


def check_limits(method: PaymentMethod, amount: Money) -> None:
    if str(amount.currency) != method.currency:
        raise PaymentError(f"{method.name} takes payments in {method.currency}.")
    if amount.amount < method.minimum:
        raise PaymentError(f"The smallest payment by {method.name} is "
                           f"{format_money(Money(method.minimum, method.currency))}.")
    if method.maximum is not None and amount.amount > method.maximum:
        raise PaymentError(f"The largest payment by {method.name} is "
                           f"{format_money(Money(method.maximum, method.currency))}.")


def methods_for(client: Client, *, purpose: str = PaymentPurpose.TOPUP):
    """The payment methods a client may use: its provider's companies', in its currency."""
    methods = PaymentMethod.objects.filter(
        is_enabled=True, currency=client.provider.currency,
        company__providers=client.provider).select_related("company").distinct()
    if purpose == PaymentPurpose.TOPUP:
        return methods.filter(for_topup=True)
    return methods.filter(for_direct_payment=True)


# Starting ----------------------------------------------------------------------------
@transaction.atomic
def payment_create(*, client: Client, method: PaymentMethod, amount: Money,
                   idempotency_key: str, user: User | None, purpose: str = PaymentPurpose.TOPUP,
                   save_method: bool = False, request=None) -> tuple[Payment, bool]:
    """A new payment with its advance-payment invoice. The same key (a double click, a
    second tab) returns the first payment."""
    existing = Payment.objects.filter(client=client, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    if not methods_for(client, purpose=purpose).filter(pk=method.pk).exists():
        raise PaymentError("This payment method is not available to you.")
    amount = round_money(amount)
    check_limits(method, amount)
    if save_method and not method.can_save:
        save_method = False
    invoice = advance_payment_invoice(company=method.company, client=client, amount=amount)
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                client=client, method=method, purpose=purpose, amount=amount.amount,
                fee=method.fee_for(amount).amount, currency=method.currency, invoice=invoice,
                idempotency_key=idempotency_key, created_by=user, save_method=save_method)
    except IntegrityError:
        transaction.set_rollback(True)
        return Payment.objects.get(client=client, idempotency_key=idempotency_key), False
    PaymentEvent.objects.create(payment=payment, to_status=P.NEW, source="client")
    log_action(actor=user, action="payment.started", obj=payment, client=client,
               request=request, details={"amount": str(amount.amount),
                                         "method": method.name})
    return payment, True


def payment_start(payment: Payment, *, return_url: str, cancel_url: str) -> GatewayResult:
    """Create the payment at its gateway; returns where to send the client."""
    gateway = gateway_for(payment.method)
    result = gateway.start(payment, return_url=return_url, cancel_url=cancel_url)
    payment_apply(payment_id=payment.pk, result=result, source="start")
    return result


# Applying what the gateway says ---------------------------------------------------------------
@transaction.atomic
def payment_apply(*, payment_id: int, result: GatewayResult, source: str,
                  actor: User | None = None) -> Payment:
    """Apply a gateway's report to the payment through its state machine."""
    payment = Payment.objects.select_for_update().select_related("method", "client").get(
        pk=payment_id)
    if result.reference and not payment.gateway_reference:
        payment.gateway_reference = result.reference
        payment.save(update_fields=["gateway_reference", "updated_at"])
    if result.message.startswith("pi_"):
        payment.details = {**payment.details, "payment_intent": result.message}
        payment.save(update_fields=["details", "updated_at"])
    target = result.status
    if target and target != payment.status:
        if target in TRANSITIONS[payment.status]:
            _transition(payment, target, source=source, note=result.message, actor=actor)
        else:
            PaymentEvent.objects.create(payment=payment, from_status=payment.status,
                                        to_status=payment.status, source=source,
                                        note=f"ignored: {target} after {payment.status}")
    if result.saved and payment.save_method and payment.status == P.SUCCEEDED:
        _save_method(payment, result)
    return payment


def _transition(payment: Payment, target: str, *, source: str, note: str,
                actor: User | None) -> None:
    previous = payment.status
    payment.status = target
    if target == P.FAILED:
        payment.failure_reason = note[:255]
    fields = ["status", "failure_reason", "updated_at"]
    if target == P.SUCCEEDED:
        payment.succeeded_at = timezone.now()
        payment.credit_transaction = _credit(payment, actor)
        fields += ["succeeded_at", "credit_transaction"]
        if payment.invoice_id:
            invoice_mark_paid(invoice_id=payment.invoice_id,
                              payment_transaction=payment.credit_transaction)
        transaction.on_commit(lambda: payment_succeeded.send(sender=Payment, payment=payment))
        balance = personal_account(payment.client).balance_money
        notify(client=payment.client, event="payment_received", key=f"payment:{payment.pk}",
               context={"amount": format_money(payment.amount_money),
                        "balance": format_money(balance)})
    payment.save(update_fields=fields)
    PaymentEvent.objects.create(payment=payment, from_status=previous, to_status=target,
                                source=source, note=note[:255])


def _credit(payment: Payment, actor: User | None):
    """Money arrived at the gateway: the client's balance gets the amount, the provider
    the fee, and the gateway's clearing account owes the provider both."""
    method = payment.method
    account = personal_account(payment.client)
    lock_accounts(account)
    clearing = system_account(AccountKind.GATEWAY_CLEARING, method.currency,
                              company=method.company, key=f"method:{method.pk}",
                              name=f"Clearing {method.name}")
    legs = [Leg(account, payment.amount_money), Leg(clearing, -payment.charged_money)]
    if payment.fee:
        legs.append(Leg(system_account(AccountKind.FEES, method.currency,
                                       company=method.company), payment.fee_money))
    record, _ = ledger_post(
        kind=TransactionKind.TOPUP, description=f"Payment #{payment.pk} by {method.name}",
        idempotency_key=f"payment:{payment.pk}", client=payment.client, actor=actor,
        legs=legs, details={"payment": payment.pk, "gateway": method.gateway})
    return record


def _save_method(payment: Payment, result: GatewayResult) -> None:
    saved = result.saved
    record, created = SavedPaymentMethod.objects.get_or_create(
        method=payment.method, token=saved.token,
        defaults={"client": payment.client, "label": saved.label, "expires": saved.expires,
                  "customer_reference": saved.customer_reference})
    if created and not payment.client.saved_methods.filter(is_default=True,
                                                           is_active=True).exclude(
            pk=record.pk).exists():
        record.is_default = True
        record.save(update_fields=["is_default"])
    if payment.saved_method_id != record.pk:
        payment.saved_method = record
        payment.save(update_fields=["saved_method", "updated_at"])


def payment_refresh(payment: Payment, *, source: str = "query") -> Payment:
    """Ask the gateway what became of a payment (a return, or an unknown status)."""
    try:
        result = gateway_for(payment.method).handle_return(payment)
    except GatewayError as error:
        logger.warning("Could not query payment %s: %s", payment.pk, error)
        return payment
    return payment_apply(payment_id=payment.pk, result=result, source=source)


def payment_resolve(payment: Payment, *, return_url: str = "", cancel_url: str = ""
                    ) -> Payment:
    """Settle a payment whose outcome is unknown (a gateway timeout) by asking again:
    a status query when the gateway's reference is known, else the same idempotent call
    that timed out. An unknown payment is never guessed to have failed or succeeded."""
    gateway = gateway_for(payment.method)
    try:
        if payment.gateway_reference:
            result = gateway.query_status(payment)
        elif payment.saved_method_id:
            result = gateway.charge_saved(payment, payment.saved_method)
        else:
            result = gateway.start(payment, return_url=return_url, cancel_url=cancel_url)
    except GatewayError as error:
        logger.warning("Payment %s is still unknown: %s", payment.pk, error)
        return payment
    return payment_apply(payment_id=payment.pk, result=result, source="resolve")


def payments_resolve_unknown(*, older_than_seconds: int = 60) -> int:
    """Beat job: ask the gateways about every payment in the Unknown status."""
    from datetime import timedelta

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    unknown = Payment.objects.filter(status=P.UNKNOWN, updated_at__lt=cutoff).select_related(
        "method", "saved_method")
    count = 0
    for payment in unknown:
        payment_resolve(payment)
        count += 1
    return count


def payments_expire_abandoned(*, older_than_hours: int = 24) -> int:
    """Beat job: a payment the client walked away from (New or Pending for a day) is
    asked about once more, then failed, and its unpaid invoice cancelled."""
    from datetime import timedelta

    from billing.invoicing import invoice_cancel

    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    stale = Payment.objects.filter(status__in=[P.NEW, P.PENDING], created_at__lt=cutoff,
                                   method__gateway__in=["sandbox", "stripe"])
    count = 0
    for payment in stale.select_related("method", "invoice"):
        payment = payment_refresh(payment, source="expiry")
        if payment.status in (P.NEW, P.PENDING):
            with transaction.atomic():
                payment = payment_apply(payment_id=payment.pk, source="expiry", result=(
                    GatewayResult(status=P.FAILED, message="Abandoned: not completed in time")))
                if payment.invoice is not None and payment.invoice.status == "new":
                    invoice_cancel(invoice=payment.invoice)
            count += 1
    return count


def staff_confirm_receipt(*, payment: Payment, actor: User, request=None) -> Payment:
    """Bank transfer: staff saw the money arrive."""
    if payment.status not in (P.NEW, P.PENDING, P.UNKNOWN):
        raise PaymentError(f"Payment #{payment.pk} is {payment.get_status_display().lower()}.")
    payment = payment_apply(payment_id=payment.pk, actor=actor, source="staff",
                            result=GatewayResult(status=P.SUCCEEDED,
                                                 message="Receipt confirmed by staff"))
    log_action(actor=actor, action="payment.confirmed_by_staff", obj=payment,
               client=payment.client, request=request)
    return payment


# Saved payment methods ----------------------------------------------------------------
def charge_saved_method(*, saved: SavedPaymentMethod, amount: Money, idempotency_key: str,
                        purpose: str = PaymentPurpose.AUTOPAY, user: User | None = None
                        ) -> Payment:
    """Charge a saved card or wallet with no client present (autopay, renewals).

    The payment is written first (New), then the gateway is called with an idempotency
    key from the payment's id, then the outcome is applied: a retry with the same key
    finds the same payment and never charges twice.
    """
    if not saved.is_active:
        raise PaymentError("This saved payment method was removed.")
    payment, created = payment_create(client=saved.client, method=saved.method, amount=amount,
                                      idempotency_key=idempotency_key, user=user,
                                      purpose=PaymentPurpose.TOPUP)
    if not created and payment.status not in (P.NEW, P.UNKNOWN):
        return payment
    Payment.objects.filter(pk=payment.pk).update(saved_method=saved, purpose=purpose)
    payment.refresh_from_db()
    result = gateway_for(saved.method).charge_saved(payment, saved)
    return payment_apply(payment_id=payment.pk, result=result, source="saved_method")


@transaction.atomic
def saved_method_remove(*, saved: SavedPaymentMethod, actor: User, request=None) -> None:
    saved = SavedPaymentMethod.objects.select_for_update().get(pk=saved.pk)
    was_default = saved.is_default
    saved.is_active = False
    saved.is_default = False
    saved.save(update_fields=["is_active", "is_default"])
    if was_default:
        successor = saved.client.saved_methods.filter(is_active=True).first()
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default"])
    log_action(actor=actor, action="saved_method.removed", obj=saved, client=saved.client,
               request=request)


@transaction.atomic
def saved_method_make_default(*, saved: SavedPaymentMethod, actor: User, request=None) -> None:
    SavedPaymentMethod.objects.filter(client=saved.client, is_default=True).exclude(
        pk=saved.pk).update(is_default=False)
    SavedPaymentMethod.objects.filter(pk=saved.pk).update(is_default=True)
    log_action(actor=actor, action="saved_method.made_default", obj=saved, client=saved.client,
               request=request)

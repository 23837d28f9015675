"""Payments: their state machine, starting one, applying what a gateway reports, and
charging a saved payment method.

Write-ahead: a payment row is written, with the invoice it pays (the advance-payment
invoice of a top-up, or the invoice of the order it pays), before any gateway is called,
and the call carries an idempotency key derived from that row. One invoice has at most
one open payment (a unique constraint), so two tabs paying one order meet in the
database, not at the gateway.

Only a payment that reaches Succeeded credits the personal account, exactly once: the
credit's idempotency key is the payment's id, the payment row is locked while its status
changes, and a report that arrives again, late or out of order changes nothing. In the
same transaction the payment does what it was for (``payments.purposes``), and records
that it did (its outcome), whichever way the news arrived.

Lock order: the payment row, then the client's personal account, then what the purpose
locks (the order), then an invoice series. (A new payment is inserted by a caller that
may hold the account and the order already: an insert waits on no other payment.)
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from accounts.actionlog import log_action
from accounts.models import Client, User
from accounts.notifications import notify
from billing.invoicing import advance_payment_invoice
from billing.ledger import (
    HoldRefused,
    Leg,
    hold_place,
    hold_release,
    ledger_post,
    lock_accounts,
    personal_account,
    system_account,
)
from billing.models import AccountKind, Invoice, InvoiceKind, TransactionKind
from core.money import format_money, round_money
from payments.gateways import GatewayError, GatewayResult, gateway_for
from payments.models import (
    OPEN_STATUSES,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentOutcome,
    PaymentPurpose,
    PaymentStatus,
    SavedPaymentMethod,
)
from payments.purposes import fulfil

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

# Sent after commit when a payment succeeded (what it was for is already done): the
# cart resumes services stopped for debt and pays renewals that waited for money.
payment_succeeded = Signal()


class PaymentError(Exception):
    """The payment cannot be made as asked; the message says why. Nothing was written."""


def check_limits(method: PaymentMethod, amount: Money) -> None:
    if str(amount.currency) != method.currency:
        raise PaymentError(_("%(method)s takes payments in %(currency)s.") % {
            "method": method.name, "currency": method.currency})
    if amount.amount < method.minimum:
        raise PaymentError(_("The smallest payment by %(method)s is %(minimum)s.") % {
            "method": method.name,
            "minimum": format_money(Money(method.minimum, method.currency))})
    if amount.amount > method.maximum:
        raise PaymentError(_("The largest payment by %(method)s is %(maximum)s.") % {
            "method": method.name,
            "maximum": format_money(Money(method.maximum, method.currency))})


def methods_for(client: Client, *, purpose: str = PaymentPurpose.TOPUP):
    """The payment methods a client may use: its provider's companies', in its currency."""
    methods = PaymentMethod.objects.filter(
        is_enabled=True, currency=client.provider.currency,
        company__providers=client.provider).select_related("company").distinct()
    if purpose == PaymentPurpose.TOPUP:
        return methods.filter(for_topup=True)
    return methods.filter(for_direct_payment=True)


def open_payment_for(invoice: Invoice | int | None) -> Payment | None:
    """The payment of ``invoice`` that a gateway has not finished with, if any."""
    if invoice is None:
        return None
    return (Payment.objects.filter(invoice=invoice, status__in=OPEN_STATUSES)
            .select_related("method", "saved_method").first())


# Starting ----------------------------------------------------------------------------
def payment_create(*, client: Client, method: PaymentMethod, amount: Money,
                   idempotency_key: str, user: User | None, purpose: str = PaymentPurpose.TOPUP,
                   save_method: bool = False, invoice: Invoice | None = None,
                   from_balance: Money | None = None, saved: SavedPaymentMethod | None = None,
                   request=None) -> tuple[Payment, bool]:
    """A new payment, written before any gateway hears of it, for ``invoice`` (an order's)
    or, without one, for a new advance-payment invoice of the amount.

    Returns the payment and whether it is new. The same key (a double click, a second
    tab) returns the first payment; so does an invoice that already has an open payment:
    the caller shows that one instead of charging again.
    """
    if (purpose == PaymentPurpose.TOPUP) != (invoice is None or
                                             invoice.kind == InvoiceKind.ADVANCE_PAYMENT):
        raise ValueError("Adding funds pays an advance-payment invoice; an order payment "
                         "pays the order's invoice.")
    existing = Payment.objects.filter(client=client, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    if not methods_for(client, purpose=purpose).filter(pk=method.pk).exists():
        raise PaymentError(_("This payment method is not available to you."))
    amount = round_money(amount)
    check_limits(method, amount)
    try:
        payment = _payment_write(
            client=client, method=method, amount=amount, idempotency_key=idempotency_key,
            user=user, purpose=purpose, save_method=save_method and method.can_save,
            invoice=invoice, from_balance=from_balance, saved=saved, request=request)
    except IntegrityError:
        # Another request with the same key, or another attempt on the same invoice,
        # committed first. Its transaction is over, ours rolled back: read it.
        existing = (Payment.objects.filter(client=client, idempotency_key=idempotency_key)
                    .first() or open_payment_for(invoice))
        if existing is None:
            raise
        return existing, False
    return payment, True


@transaction.atomic
def _payment_write(*, client, method, amount, idempotency_key, user, purpose, save_method,
                   invoice, from_balance, saved, request) -> Payment:
    # The row first: a duplicate meets the unique keys before any invoice is numbered.
    payment = Payment.objects.create(
        client=client, method=method, purpose=purpose, amount=amount.amount,
        fee=method.fee_for(amount).amount, currency=method.currency, invoice=invoice,
        from_balance=from_balance.amount if from_balance is not None else 0,
        idempotency_key=idempotency_key, created_by=user, save_method=save_method,
        saved_method=saved)
    if invoice is None:
        payment.invoice = advance_payment_invoice(company=method.company, client=client,
                                                  amount=amount)
        payment.save(update_fields=["invoice", "updated_at"])
    if payment.from_balance:
        # The balance's part of the purchase waits for the method's part: nobody spends
        # it meanwhile (another tab, the clock), and it is freed when the payment ends.
        try:
            hold_place(client=client, amount=payment.from_balance_money,
                       key=balance_part_key(payment), within_credit_limit=True,
                       reason=f"Balance part of payment #{payment.pk}")
        except HoldRefused as error:
            raise PaymentError(_("Your balance no longer covers its part: %(why)s") % {
                "why": error}) from error
    PaymentEvent.objects.create(payment=payment, to_status=P.NEW, source="client")
    log_action(actor=user, action="payment.started", obj=payment, client=client,
               request=request, details={"amount": str(amount.amount), "method": method.name,
                                         "invoice": payment.invoice.number})
    return payment


def payment_start(payment: Payment, *, return_url: str, cancel_url: str) -> GatewayResult:
    """Create the payment at its gateway; returns where to send the client. A gateway
    that refuses fails the payment (so the invoice may be paid another way)."""
    gateway = gateway_for(payment.method)
    # Written ahead: asking again after a timeout repeats this very call (the gateway's
    # idempotency key covers its parameters too).
    Payment.objects.filter(pk=payment.pk).update(details={
        **payment.details, "return_url": return_url, "cancel_url": cancel_url})
    payment.refresh_from_db()
    try:
        result = gateway.start(payment, return_url=return_url, cancel_url=cancel_url)
    except GatewayError as error:
        payment_apply(payment_id=payment.pk, source="start",
                      result=GatewayResult(status=P.FAILED, message=str(error)))
        raise
    payment_apply(payment_id=payment.pk, result=result, source="start")
    return result


def payment_continue_url(payment: Payment) -> str:
    """Where a client goes on with an open payment: the gateway's page it was sent to."""
    return payment.details.get("redirect_url", "")


# Applying what the gateway says ---------------------------------------------------------------
@transaction.atomic
def payment_apply(*, payment_id: int, result: GatewayResult, source: str,
                  actor: User | None = None) -> Payment:
    """Apply a gateway's report to the payment through its state machine."""
    payment = Payment.objects.select_for_update().select_related("method", "client").get(
        pk=payment_id)
    details = dict(payment.details)
    if result.message.startswith("pi_"):
        details["payment_intent"] = result.message
    if result.redirect_url:
        details["redirect_url"] = result.redirect_url
    learned = bool(result.reference and not payment.gateway_reference)
    if learned:
        payment.gateway_reference = result.reference
    if learned or details != payment.details:
        payment.details = details
        payment.save(update_fields=["gateway_reference", "details", "updated_at"])
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


def balance_part_key(payment: Payment) -> str:
    """The key of the hold on the balance's part of a combined payment."""
    return f"payment:{payment.pk}:balance-part"


def _transition(payment: Payment, target: str, *, source: str, note: str,
                actor: User | None) -> None:
    previous = payment.status
    if payment.from_balance and previous in OPEN_STATUSES and target not in OPEN_STATUSES:
        hold_release(key=balance_part_key(payment))  # spent by the purpose now, or freed
    payment.status = target
    if target == P.FAILED:
        payment.failure_reason = note[:255]
    fields = ["status", "failure_reason", "updated_at"]
    if target == P.SUCCEEDED:
        payment.succeeded_at = timezone.now()
        payment.credit_transaction = _credit(payment, actor)
        fields += ["succeeded_at", "credit_transaction"]
    payment.save(update_fields=fields)
    PaymentEvent.objects.create(payment=payment, from_status=previous, to_status=target,
                                source=source, note=note[:255])
    if target == P.SUCCEEDED:
        _fulfil(payment)
        transaction.on_commit(lambda: payment_succeeded.send(sender=Payment, payment=payment))
        balance = personal_account(payment.client).balance_money
        notify(client=payment.client, event="payment_received", key=f"payment:{payment.pk}",
               context={"amount": format_money(payment.amount_money),
                        "balance": format_money(balance)})


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
    record, _created = ledger_post(
        kind=TransactionKind.TOPUP, description=f"Payment #{payment.pk} by {method.name}",
        idempotency_key=f"payment:{payment.pk}", client=payment.client, actor=actor,
        legs=legs, details={"payment": payment.pk, "gateway": method.gateway})
    return record


def _fulfil(payment: Payment) -> None:
    """Do what the payment was for, in a savepoint of the capture's transaction. The
    capture itself must commit whatever happens here: the gateway has the money, and
    saying otherwise would be telling the client "not charged" when it was. A failure
    leaves the outcome empty, which ``billing_audit`` reports by the payment's number."""
    try:
        with transaction.atomic():
            outcome, note = fulfil(payment)
    except Exception as error:
        logger.exception("Payment %s was captured but not applied", payment.pk)
        PaymentEvent.objects.create(payment=payment, from_status=payment.status,
                                    to_status=payment.status, source="purpose",
                                    note=f"not applied: {error}"[:255])
        outcome, note = PaymentOutcome.NONE, _(
            "The payment arrived and is on your balance, but what it was for could not be "
            "completed; we have been told and will sort it out.")
    payment.outcome, payment.outcome_note = outcome, note[:255]
    payment.save(update_fields=["outcome", "outcome_note", "updated_at"])


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


def payment_resolve(payment: Payment) -> Payment:
    """Settle a payment whose outcome is unknown (a gateway timeout) by asking again:
    a status query when the gateway's reference is known, else the same idempotent call
    that timed out, with the same parameters. An unknown payment is never guessed to have
    failed or succeeded."""
    gateway = gateway_for(payment.method)
    try:
        if payment.gateway_reference:
            result = gateway.query_status(payment)
        elif payment.saved_method_id:
            result = gateway.charge_saved(payment, payment.saved_method)
        else:
            result = gateway.start(payment, return_url=payment.details.get("return_url", ""),
                                   cancel_url=payment.details.get("cancel_url", ""))
    except GatewayError as error:
        logger.warning("Payment %s is still unknown: %s", payment.pk, error)
        return payment
    return payment_apply(payment_id=payment.pk, result=result, source="resolve")


def staff_confirm_receipt(*, payment: Payment, actor: User, request=None) -> Payment:
    """Bank transfer: staff saw the money arrive (also for a payment the client had given
    up: the money is what counts)."""
    if payment.status not in (P.NEW, P.PENDING, P.UNKNOWN, P.FAILED):
        raise PaymentError(_("Payment #%(number)s is %(status)s.") % {
            "number": payment.pk, "status": payment.get_status_display().lower()})
    payment = payment_apply(payment_id=payment.pk, actor=actor, source="staff",
                            result=GatewayResult(status=P.SUCCEEDED,
                                                 message="Receipt confirmed by staff"))
    log_action(actor=actor, action="payment.confirmed_by_staff", obj=payment,
               client=payment.client, request=request)
    return payment


def payment_cancel(*, payment: Payment, actor: User | None, reason: str, request=None
                   ) -> Payment:
    """The client gives up an open payment (a gateway page left open, a transfer it will
    not make). The gateway is told first, so the page cannot take the money afterwards;
    if it already did, the payment succeeds instead and says so. An Unknown payment
    cannot be given up: nobody knows yet whether money moved."""
    if payment.status not in (P.NEW, P.PENDING):
        raise PaymentError(_("Payment #%(number)s cannot be cancelled: it is %(status)s.") % {
            "number": payment.pk, "status": payment.get_status_display()})
    if payment.saved_method_id and payment.status == P.NEW:
        raise PaymentError(_("Payment #%(number)s is being charged to %(card)s right now; "
                             "its answer comes in a moment.") % {
            "number": payment.pk, "card": payment.saved_method.label})
    try:
        result = gateway_for(payment.method).cancel(payment)
    except GatewayError as error:
        raise PaymentError(str(error)) from error
    if result.status == P.FAILED:
        result = GatewayResult(status=P.FAILED, reference=result.reference, message=reason)
    payment = payment_apply(payment_id=payment.pk, actor=actor, source="client", result=result)
    if payment.is_open:
        raise PaymentError(_("The payment system is processing payment #%(number)s and cannot "
                             "stop it now; it tells us the outcome shortly.") % {
            "number": payment.pk})
    if payment.status == P.FAILED:
        log_action(actor=actor, action="payment.cancelled", obj=payment,
                   client=payment.client, request=request, details={"reason": reason})
    return payment  # Succeeded: it had gone through before the gateway heard of the cancel


# Saved payment methods ----------------------------------------------------------------
def charge_saved_method(*, saved: SavedPaymentMethod, amount: Money, idempotency_key: str,
                        user: User | None = None) -> Payment:
    """Add funds by charging a saved card or wallet. (An order is paid with a saved method
    by ``cart.order_payments``, which writes the payment on the order's invoice and then
    calls ``charge_saved_payment``.)

    The payment is written first (New), then the gateway is called with an idempotency
    key from the payment's id, then the outcome is applied. A second request for the same
    key or the same invoice finds that payment and calls nothing: a charge that stopped
    half-way (a killed process) is settled by the resolver, with the same key.
    """
    if not saved.is_active:
        raise PaymentError(_("This saved payment method was removed."))
    payment, created = payment_create(
        client=saved.client, method=saved.method, amount=amount,
        idempotency_key=idempotency_key, user=user, saved=saved)
    if not created:
        return payment
    return charge_saved_payment(payment)


def charge_saved_payment(payment: Payment) -> Payment:
    """Call the gateway for a payment just written with its saved method, and apply the
    answer. The gateway's idempotency key comes from the payment's id."""
    try:
        result = gateway_for(payment.method).charge_saved(payment, payment.saved_method)
    except GatewayError as error:
        result = GatewayResult(status=P.FAILED, message=str(error))
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

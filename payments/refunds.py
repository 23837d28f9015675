"""Refunds by staff: money goes back to where it came from, through the gateway.

Written ahead, like a payment, and never a debit for money the gateway did not return:

1. ``refund_payment`` records the refund (Pending) and holds its amount on the client's
   balance, in one short transaction: the client cannot spend what is on its way back
   to the card, and a second request (another tab, the same form twice) sees it.
2. The gateway is asked outside any transaction, with ``refund-<id>`` as its idempotency
   key, so asking again never refunds twice.
3. Its answer is settled: confirmed, the hold is released and the balance debited (an
   expense "Refund to ..."), the payment's refunded amount moves and a credit note is
   issued; refused, the hold is released and the refund is Failed; no answer, or "later",
   the refund stays Pending with its hold, and ``refunds_settle_pending`` (beat) asks the
   gateway again until it answers.

Each request and each answer that changes something is in the action log.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from accounts.actionlog import log_action
from accounts.models import User
from billing.charges import ChargeSpec, charges_post
from billing.invoicing import InvoiceError, credit_note_issue
from billing.ledger import HoldRefused, Leg, hold_place, hold_release, system_account
from billing.models import AccountKind, ChargeKind, InvoiceKind, TransactionKind
from core.money import format_money, round_money
from payments.gateways import GatewayError, RefundResult, gateway_for
from payments.models import Payment, PaymentEvent, PaymentStatus, Refund
from payments.processing import TRANSITIONS, PaymentError

logger = logging.getLogger(__name__)
REFUNDABLE = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)


def refundable(payment: Payment) -> Money:
    """What may still be refunded: the amount, less refunds done or under way (the fee
    stays with the provider)."""
    pending = payment.refunds.filter(status=Refund.Status.PENDING).aggregate(
        total=Sum("amount"))["total"] or 0
    return Money(payment.amount - payment.refunded - pending, payment.currency)


def refund_payment(*, payment: Payment, amount: Money, reason: str, actor: User,
                   idempotency_key: str, request=None) -> Refund:
    """Refund all or part of a payment through its gateway. Returns the refund as the
    gateway left it: Succeeded, or Pending (held, asked again later); raises
    PaymentError when it cannot be made or the gateway refused."""
    reason = reason.strip()
    if not reason:
        raise PaymentError(_("A refund needs a reason."))
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    if not gateway_for(payment.method).supports_refunds:
        raise PaymentError(_("%(method)s cannot refund: send the money back another way and "
                             "record it as a manual debit of the balance.") % {
            "method": payment.method.name})
    try:
        refund = _refund_request(payment=payment, amount=round_money(amount), reason=reason,
                                 actor=actor, key=idempotency_key, request=request)
    except IntegrityError:  # the same form, sent twice at once: the first one stands
        return Refund.objects.get(idempotency_key=idempotency_key)
    refund = refund_ask(refund, actor=actor, request=request, first=True)
    if refund.status == Refund.Status.FAILED:
        raise PaymentError(_("The gateway did not refund: %(error)s") % {"error": refund.error})
    return refund


@transaction.atomic
def _refund_request(*, payment: Payment, amount: Money, reason: str, actor: User, key: str,
                    request) -> Refund:
    payment = (Payment.objects.select_for_update(of=("self",)).select_related("method")
               .get(pk=payment.pk))
    if payment.status not in REFUNDABLE:
        raise PaymentError(_("Payment #%(number)s is %(status)s; only a succeeded payment can "
                             "be refunded.") % {"number": payment.pk,
                                                "status": payment.get_status_display().lower()})
    if amount.amount <= 0:
        raise PaymentError(_("The refund must be greater than zero."))
    if amount > refundable(payment):
        raise PaymentError(_("At most %(amount)s of this payment can still be refunded.") % {
            "amount": format_money(refundable(payment))})
    refund = Refund.objects.create(payment=payment, amount=amount.amount,
                                   currency=payment.currency, reason=reason[:255],
                                   idempotency_key=key, requested_by=actor)
    try:
        hold_place(client=payment.client, amount=amount, key=refund.hold_key,
                   reason=f"Refund of payment #{payment.pk} to {payment.method.name}")
    except HoldRefused as error:
        raise PaymentError(_("The client's balance does not cover the refund. %(why)s") % {
            "why": error}) from error
    log_action(actor=actor, action="payment.refund_requested", obj=payment,
               client=payment.client, request=request,
               details={"refund": refund.pk, "amount": str(amount.amount), "reason": reason})
    return refund


def refund_ask(refund: Refund, *, actor: User | None, request=None, first: bool = False
               ) -> Refund:
    """Ask the gateway to make the refund (``first``) or what became of it, outside any
    transaction, and settle its answer."""
    payment = refund.payment
    gateway = gateway_for(payment.method)
    try:
        if first:
            result = gateway.refund(payment, refund, refund.money)
        else:
            result = gateway.query_refund(payment, refund)
    except GatewayError as error:
        # A refusal of the request itself is final; asked again later (the first answer
        # lost), a refusal may be the gateway not recognising a request still running:
        # keep it held and let staff see it rather than free money that may have left.
        result = RefundResult(status="failed" if first else "unknown", message=str(error))
    except Exception as error:
        # Whatever went wrong, the gateway may have refunded: keep it held and ask again.
        logger.exception("Refund %s: no answer from the gateway", refund.pk)
        result = RefundResult(status="unknown", message=f"No answer: {error}")
    return _refund_settle(refund_id=refund.pk, result=result, actor=actor, request=request)


@transaction.atomic
def _refund_settle(*, refund_id: int, result: RefundResult, actor: User | None,
                   request) -> Refund:
    # The payment first, then the refund, then (in the ledger) the account.
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    payment = (Payment.objects.select_for_update(of=("self",))
               .select_related("method", "client", "invoice").get(pk=refund.payment_id))
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:  # settled meanwhile (the job and staff)
        return refund
    was_waiting = refund.attempts > 0
    refund.attempts += 1
    refund.asked_at = timezone.now()
    if result.reference:
        refund.gateway_reference = result.reference
    fields = ["attempts", "asked_at", "gateway_reference", "error"]
    action = ""
    if result.status == "succeeded":
        _refunded(refund, payment, actor)
        refund.status, refund.settled_at, refund.error = Refund.Status.SUCCEEDED, \
            refund.asked_at, ""
        fields += ["status", "settled_at", "transaction", "credit_note"]
        action = "payment.refunded"
    elif result.status == "failed":
        hold_release(key=refund.hold_key)
        refund.status, refund.settled_at = Refund.Status.FAILED, refund.asked_at
        refund.error = (result.message or _("Refused by the gateway."))[:255]
        fields += ["status", "settled_at"]
        action = "payment.refund_failed"
    else:
        refund.error = (result.message or _("The gateway confirms it later."))[:255]
        action = "" if was_waiting else "payment.refund_pending"
    refund.save(update_fields=fields)
    if action:
        log_action(actor=actor, action=action, obj=payment, client=payment.client,
                   request=request, details={"refund": refund.pk, "amount": str(refund.amount),
                                             "reason": refund.reason,
                                             "gateway": result.status,
                                             "message": result.message})
    return refund


def _refunded(refund: Refund, payment: Payment, actor: User | None) -> None:
    """The gateway returned the money: the held amount leaves the balance now."""
    amount = refund.money
    method = payment.method
    hold_release(key=refund.hold_key)
    clearing = system_account(AccountKind.GATEWAY_CLEARING, method.currency,
                              company=method.company, key=f"method:{method.pk}",
                              name=f"Clearing {method.name}")
    # The money is already back on the card: the debit happens whatever the balance
    # did since (it was held, so normally it is there).
    refund.transaction, _created = charges_post(
        client=payment.client, kind=TransactionKind.REFUND, actor=actor,
        idempotency_key=f"refund:{refund.pk}", allow_overdraft=True,
        description=f"Refund of payment #{payment.pk} to {method.name}",
        charges=[ChargeSpec(ChargeKind.REFUND, f"Refund to {method.name}: {refund.reason}",
                            amount, idempotency_key=f"refund:{refund.pk}",
                            derivation={"payment": payment.pk, "reason": refund.reason})],
        counter=[Leg(clearing, amount)])
    payment.refunded += amount.amount
    target = (PaymentStatus.REFUNDED if payment.refunded == payment.amount
              else PaymentStatus.PARTIALLY_REFUNDED)
    if target not in TRANSITIONS[payment.status]:
        raise PaymentError(f"Payment #{payment.pk} cannot go {payment.status} -> {target}.")
    previous, payment.status = payment.status, target
    payment.save(update_fields=["refunded", "status", "updated_at"])
    PaymentEvent.objects.create(payment=payment, from_status=previous, to_status=target,
                                source="refund", note=f"refund of {format_money(amount)}")
    if payment.invoice_id and payment.invoice.kind == InvoiceKind.ADVANCE_PAYMENT:
        # The refund takes back an advance payment: its invoice gets the credit note. (A
        # payment of an order's invoice was spent on the order: refunding it returns
        # balance money, and the order's invoice stands unless its services are credited.)
        with contextlib.suppress(InvoiceError):
            refund.credit_note = credit_note_issue(
                invoice=payment.invoice, amount=amount, reason=f"Refund: {refund.reason}",
                ledger_transaction=refund.transaction)


def refunds_settle_pending(*, now: datetime, older_than_seconds: int = 300) -> int:
    """Beat job: ask the gateways about every refund still waiting for them, once the
    first request has surely ended (a gateway client retries for a few minutes)."""
    cutoff = now - timedelta(seconds=older_than_seconds)
    waiting = Refund.objects.filter(status=Refund.Status.PENDING, created_at__lt=cutoff)
    count = 0
    for refund in waiting.select_related("payment__method"):
        refund_ask(refund, actor=None)
        count += 1
    return count

"""Paying an order by the method the client chose: the personal account, a payment method
for the whole amount ("directly", as the seeds say), or the balance first and a method for
the rest; and completing the order when that payment's money arrives.

Write-ahead and once: under the order's row lock, the order's invoice is issued and a
payment of it is written (a unique constraint allows one open payment per invoice)
before the gateway hears of it. A second tab, a double click or a retry finds that
payment and shows it (or waits for a saved card's answer) instead of charging again.

Whichever way the money arrives (a saved card's answer, the return URL, a webhook, the
resolver), ``payments`` credits the balance and calls ``order_payment_fulfil`` in the
same transaction, which pays the order from that balance: the credit and the debit are
both in the ledger, and the client sees one payment of one invoice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from djmoney.money import Money

from accounts.models import User
from billing.ledger import InsufficientFunds, LedgerError, lock_accounts, personal_account
from cart.checkout import (
    CheckoutError,
    PaymentUnderWay,
    order_invoice,
    order_lock,
    order_must_wait_for_payment,
    order_pay_from_balance,
)
from cart.models import Order, OrderStatus
from core.money import format_money, zero
from payments.gateways import GatewayError, gateway_for
from payments.models import (
    Payment,
    PaymentMethod,
    PaymentOutcome,
    PaymentPurpose,
    SavedPaymentMethod,
)
from payments.processing import (
    PaymentError,
    charge_saved_payment,
    check_limits,
    open_payment_for,
    payment_continue_url,
    payment_create,
    payment_start,
)
from payments.purposes import fulfils


@dataclass(frozen=True)
class PayChoice:
    """How the client chose to pay: ``balance``, or a ``method`` / ``saved`` method,
    with the balance used first or not."""

    kind: str
    method: PaymentMethod | None = None
    saved: SavedPaymentMethod | None = None
    use_balance: bool = False
    balance_seen: Decimal | None = None  # what could be spent when the client chose

    @property
    def payment_method(self) -> PaymentMethod | None:
        return self.saved.method if self.saved is not None else self.method


@dataclass(frozen=True)
class PayPlan:
    """What a total costs the client by one choice: what comes from the personal account,
    what the method pays onto it, and the method's fee on top."""

    total: Money
    from_balance: Money
    by_method: Money
    fee: Money

    @property
    def charged(self) -> Money:
        """What the gateway charges: the method's part and its fee."""
        return self.by_method + self.fee

    @property
    def surplus(self) -> Money:
        """What the method pays beyond the total (its minimum): left on the balance."""
        return self.from_balance + self.by_method - self.total


def pay_plan(*, total: Money, available: Money, method: PaymentMethod | None,
             use_balance: bool) -> PayPlan:
    """The one rule of splitting a total between the balance and a method. Without a
    method, the balance pays it all; with one, the balance pays what it can only when
    the client asks for it, and the method pays the rest: at least its minimum where its
    gateway tops up (a card; the surplus stays on the balance), else exactly the rest,
    within the method's limits (``plan_refusal``)."""
    nothing = zero(str(total.currency))
    if method is None:
        return PayPlan(total, total, nothing, nothing)
    from_balance = nothing
    if use_balance and available.amount > 0:
        from_balance = min(available, total)
    by_method = total - from_balance
    minimum = Money(method.minimum, method.currency)
    if nothing < by_method < minimum and gateway_for(method).minimum_tops_up:
        by_method = minimum
    fee = method.fee_for(by_method) if by_method.amount > 0 else nothing
    return PayPlan(total, from_balance, by_method, fee)


def plan_refusal(plan: PayPlan, method: PaymentMethod | None) -> str:
    """Why the method cannot pay its part of the plan (its minimum or maximum), or ""."""
    if method is None or plan.by_method.amount <= 0:
        return ""
    try:
        check_limits(method, plan.by_method)
    except PaymentError as error:
        return str(error)
    return ""


@dataclass(frozen=True)
class CheckoutResult:
    order: Order
    redirect_url: str = ""  # where to send the client to pay (a gateway page)
    message: str = ""
    under_way: Payment | None = None  # a payment of the order that is not finished


def order_pay(*, order: Order, user: User | None, choice: PayChoice, idempotency_key: str,
              return_url_for: Callable[[Payment], str] | None = None,
              purpose: str = PaymentPurpose.ORDER, request=None,
              at: datetime | None = None) -> CheckoutResult:
    """Pay a pending order as the client chose; never charges a method twice for it.
    ``at`` is the business moment (the clock's day for a renewal): the order's invoice and
    its payment from the balance carry it, whenever the money arrives."""
    order = Order.objects.get(pk=order.pk)
    if order.status == OrderStatus.PAID:  # a double submit, a tab left open
        return CheckoutResult(order, message=_("Order #%(number)s is paid.") % {
            "number": order.pk})
    if choice.kind == "balance":
        try:
            paid = order_pay_from_balance(order=order, user=user, request=request, at=at)
        except InsufficientFunds as error:
            raise CheckoutError(_("Your balance does not cover the order (%(why)s) Choose a "
                                  "payment method.") % {"why": error}) from error
        return CheckoutResult(paid, message=_("Paid from your personal account."))
    try:
        payment, created = _attempt(order=order, choice=choice, user=user, purpose=purpose,
                                    key=idempotency_key, request=request, at=at)
    except (PaymentError, LedgerError) as error:
        raise CheckoutError(str(error)) from error
    if payment is None:  # the balance covered it all
        return CheckoutResult(Order.objects.get(pk=order.pk),
                              message=_("Paid from your personal account."))
    if not created:
        if not payment.is_open:  # the same form again, after its payment ended
            raise CheckoutError(_("This form was already sent, and its payment has ended. "
                                  "Choose again on this page."))
        if (payment.method_id, payment.saved_method_id) != (
                choice.payment_method.pk, choice.saved.pk if choice.saved else None):
            raise PaymentUnderWay(payment)  # another way was chosen meanwhile: say so
        return _under_way(order, payment)  # the same choice again (a tab, a double click)
    if choice.saved is not None:
        return _after_saved_charge(order, charge_saved_payment(payment))
    back = return_url_for(payment) if return_url_for else ""
    try:
        result = payment_start(payment, return_url=back, cancel_url=back)
    except GatewayError as error:
        raise CheckoutError(_("%(method)s could not start the payment: %(error)s") % {
            "method": payment.method.name, "error": error}) from error
    return CheckoutResult(order, redirect_url=result.redirect_url, under_way=payment)


@transaction.atomic
def _attempt(*, order: Order, choice: PayChoice, user: User | None, purpose: str, key: str,
             request, at: datetime | None) -> tuple[Payment | None, bool]:
    """Under the order's lock: the order's invoice, and one open payment of it, written
    before the gateway is called. Returns (None, False) when the balance paid it all."""
    account = personal_account(order.client)
    account = lock_accounts(account)[account.pk]  # the account before the order, always
    order = order_lock(order)
    order_must_wait_for_payment(order)
    under_way = open_payment_for(order.invoice_id)
    if under_way is not None:
        return under_way, False
    method = choice.payment_method
    if choice.saved is not None and (choice.saved.client_id != order.client_id
                                     or not choice.saved.is_active):
        raise CheckoutError(_("Choose one of your saved payment methods."))
    if choice.use_balance and choice.balance_seen is not None \
            and account.available.amount != choice.balance_seen:
        # The split the client confirmed was worked out from another balance.
        raise CheckoutError(_("Your balance changed since the page was shown (%(now)s can "
                              "be used now): check what comes from where and confirm "
                              "again.") % {"now": format_money(account.available)})
    plan = pay_plan(total=order.total_money, available=account.available, method=method,
                    use_balance=choice.use_balance)
    if plan.by_method.amount <= 0:
        order_pay_from_balance(order=order, user=user, request=request, at=at)
        return None, False
    invoice = order_invoice(order, at=at)
    payment, created = payment_create(
        client=order.client, method=method, amount=plan.by_method, user=user,
        idempotency_key=f"order:{order.pk}:{key}", purpose=purpose, invoice=invoice,
        from_balance=plan.from_balance, saved=choice.saved, request=request)
    if created:
        Payment.objects.filter(pk=payment.pk).update(details={
            **payment.details, "return_to": reverse("cart:order", args=[order.pk]),
            **({"business_at": at.isoformat()} if at is not None else {})})
        payment.refresh_from_db()
    return payment, created


def _after_saved_charge(order: Order, payment: Payment) -> CheckoutResult:
    order.refresh_from_db()
    if order.status == OrderStatus.PAID:
        return CheckoutResult(order, message=_("Paid with %(card)s.") % {
            "card": payment.saved_method.label})
    if payment.is_captured:  # charged, but the order could not be paid: say so, exactly
        return CheckoutResult(order, message=_(
            "%(card)s was charged %(amount)s and the amount is on your balance; the order "
            "still waits. %(note)s") % {"card": payment.saved_method.label,
                                       "amount": format_money(payment.charged_money),
                                       "note": payment.outcome_note})
    if payment.is_open:
        return _under_way(order, payment)
    raise CheckoutError(_("%(card)s was not charged: %(why)s") % {
        "card": payment.saved_method.label,
        "why": payment.failure_reason or _("the payment was declined.")})


def _under_way(order: Order, payment: Payment) -> CheckoutResult:
    """Another tab (or click) started paying this order: show that payment."""
    order.refresh_from_db()
    if order.status == OrderStatus.PAID:
        return CheckoutResult(order, message=_("The order is paid."))
    return CheckoutResult(order, redirect_url=payment_continue_url(payment),
                          under_way=payment, message=_(
                              "A payment of this order by %(method)s is under way.") % {
                              "method": payment.method.name})


@fulfils(PaymentPurpose.ORDER, PaymentPurpose.AUTOPAY)
def order_payment_fulfil(payment: Payment) -> tuple[str, str]:
    """The money of a payment for an order arrived (and is on the balance): pay the order.
    When the order cannot be paid any more, the money stays on the balance and the
    order and the payment say why."""
    order = Order.objects.filter(invoice_id=payment.invoice_id).first()
    if order is None:
        return PaymentOutcome.ON_BALANCE, _("No order waits for this payment; the amount is "
                                            "on the balance.")
    if order.status != OrderStatus.PENDING_PAYMENT:
        return PaymentOutcome.ON_BALANCE, _(
            "Order #%(number)s was already %(status)s; the amount is on the balance.") % {
            "number": order.pk, "status": order.get_status_display().lower()}
    at = payment.details.get("business_at")
    try:
        with transaction.atomic():
            order_pay_from_balance(order=order, user=payment.created_by, paid_by=payment,
                                   at=datetime.fromisoformat(at) if at else None)
    except (InsufficientFunds, CheckoutError) as error:
        note = _("The payment of %(amount)s arrived and is on the balance, but order "
                 "#%(number)s could not be paid: %(why)s") % {
            "amount": format_money(payment.amount_money), "number": order.pk, "why": error}
        Order.objects.filter(pk=order.pk).update(note=note[:255])
        return PaymentOutcome.ON_BALANCE, note
    return PaymentOutcome.APPLIED, _("Paid order #%(number)s.") % {"number": order.pk}

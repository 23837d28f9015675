"""Payments received outside a gateway (cash, a bank wire) and recorded by staff.

A recorded payment is an ordinary payment of a bank-transfer method of the client's
company that succeeds at once: it goes through ``payment_create`` and ``payment_apply``
like any other, so the credit is posted by the one function that credits payments
(a "Payment received" transaction against the method's clearing account), the invoice
it was for is paid by its purpose, and the client is told. Nothing here posts money.

Idempotent by the bank's (or the receipt's) reference: the payment's idempotency key is
``manual:<method>:<reference>``, unique per method (payments/0004), so the same wire
recorded twice, by one person's double submit or by two people, is one payment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from djmoney.money import Money

from accounts.actionlog import log_action
from accounts.models import Client, User
from billing.ledger import personal_account
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from core.money import format_money, round_money
from payments.gateways import GatewayResult
from payments.models import Gateway, Payment, PaymentMethod, PaymentPurpose, PaymentStatus
from payments.processing import PaymentError, methods_for, open_payment_for, payment_apply
from payments.processing import payment_create as _payment_create

REFERENCE_MAX = 100
KEY_PREFIX = "manual:"
RECORD_PERMISSION = "payments.record_payment"


def manual_methods(client: Client):
    """The methods a payment received by hand may be recorded under: the bank-transfer
    methods of the client's companies, in the client's currency."""
    return (PaymentMethod.objects.filter(
        is_enabled=True, gateway=Gateway.BANK_TRANSFER, currency=client.provider.currency,
        company__providers=client.provider).select_related("company").distinct())


def payable_invoices(client: Client):
    """The client's invoices a recorded payment may pay: issued and not paid yet."""
    return Invoice.objects.filter(client=client, status=InvoiceStatus.NEW).order_by(
        "-issued_at", "-id")


def reference_key(method: PaymentMethod, reference: str) -> str:
    return f"{KEY_PREFIX}{method.pk}:{reference}"


@dataclass(frozen=True)
class ManualPayment:
    """What staff asked to record, checked: what the confirmation page shows."""

    client: Client
    method: PaymentMethod
    amount: Money
    reference: str
    received_on: date
    invoice: Invoice | None
    balance_before: Money
    existing: Payment | None  # the payment this reference already recorded

    @property
    def fee(self) -> Money:
        return self.method.fee_for(self.amount)

    @property
    def balance_after(self) -> Money:
        if self.existing is not None:
            return self.balance_before
        paid = self.invoice.total_money if self.invoice is not None and \
            self.invoice.kind == InvoiceKind.SERVICES else Money(0, self.amount.currency)
        return self.balance_before + self.amount - paid


def manual_payment_check(*, client: Client, method: PaymentMethod, amount: Money,
                         reference: str, received_on: date, invoice: Invoice | None,
                         today: date) -> ManualPayment:
    """Check a payment staff want to record; raise ``PaymentError`` saying what is wrong.
    Writes nothing."""
    reference = reference.strip()
    if not reference:
        raise PaymentError(_("Enter the reference of the payment (the bank's or the "
                             "receipt's)."))
    if len(reference) > REFERENCE_MAX:
        raise PaymentError(_("The reference is at most %(count)d characters.") % {
            "count": REFERENCE_MAX})
    account = personal_account(client)
    if str(amount.currency) != account.currency:
        raise PaymentError(_("%(client)s's account is in %(currency)s.") % {
            "client": client, "currency": account.currency})
    if amount.amount <= 0:
        raise PaymentError(_("The amount must be greater than zero."))
    if round_money(amount) != amount:
        raise PaymentError(_("The amount has more decimal places than its currency."))
    if received_on > today:
        raise PaymentError(_("The payment cannot have been received after today (%(today)s).")
                           % {"today": today.isoformat()})
    if not manual_methods(client).filter(pk=method.pk).exists():
        raise PaymentError(_("%(method)s is not a bank or cash method of %(client)s's "
                             "company.") % {"method": method.name, "client": client})
    existing = Payment.objects.filter(method=method,
                                      idempotency_key=reference_key(method, reference)).first()
    if existing is None and invoice is not None:
        _check_invoice(client, invoice, amount)
    return ManualPayment(client=client, method=method, amount=amount, reference=reference,
                         received_on=received_on, invoice=invoice,
                         balance_before=account.balance_money, existing=existing)


def _check_invoice(client: Client, invoice: Invoice, amount: Money) -> None:
    if invoice.client_id != client.pk:
        raise PaymentError(_("Invoice %(number)s is not %(client)s's.") % {
            "number": invoice.number, "client": client})
    if invoice.status != InvoiceStatus.NEW:
        raise PaymentError(_("Invoice %(number)s is %(status)s.") % {
            "number": invoice.number, "status": invoice.get_status_display().lower()})
    # The books match a paid invoice with what its payment moved, to the cent: a payment
    # against an invoice is its total; more or less is a second record without one.
    if amount != invoice.total_money:
        raise PaymentError(_(
            "Invoice %(number)s is for %(total)s, not %(amount)s: record its total against it "
            "and the difference without an invoice (it goes to the balance).") % {
            "amount": format_money(amount), "number": invoice.number,
            "total": format_money(invoice.total_money)})
    under_way = open_payment_for(invoice)
    if under_way is not None:
        raise PaymentError(_(
            "Invoice %(number)s has payment #%(payment)s under way by %(method)s: confirm its "
            "receipt on that payment instead.") % {
            "number": invoice.number, "payment": under_way.pk,
            "method": under_way.method.name})


@transaction.atomic
def manual_payment_record(*, client: Client, method: PaymentMethod, amount: Money,
                          reference: str, received_on: date, invoice: Invoice | None,
                          actor: User, today: date, request=None) -> tuple[Payment, bool]:
    """Record a payment received outside a gateway; returns it and whether it is new. The
    same reference of the same method returns the payment it recorded first (for another
    client it is refused)."""
    plan = manual_payment_check(client=client, method=method, amount=amount,
                                reference=reference, received_on=received_on,
                                invoice=invoice, today=today)
    key = reference_key(method, plan.reference)
    if plan.existing is not None:
        return _already_recorded(plan.existing, client), False
    purpose = PaymentPurpose.TOPUP if invoice is None or \
        invoice.kind == InvoiceKind.ADVANCE_PAYMENT else PaymentPurpose.ORDER
    if not methods_for(client, purpose=purpose).filter(pk=method.pk).exists():
        raise PaymentError(_("%(method)s is not enabled for this kind of payment.") % {
            "method": method.name})
    try:
        with transaction.atomic():
            payment, created = _payment_create(
                client=client, method=method, amount=amount, idempotency_key=key, user=actor,
                purpose=purpose, invoice=invoice, request=request)
    except IntegrityError:
        # Someone recorded this reference for another client a moment ago.
        existing = Payment.objects.filter(method=method, idempotency_key=key).first()
        if existing is None:
            raise
        return _already_recorded(existing, client), False
    if not created:
        return _already_recorded(payment, client), False
    Payment.objects.filter(pk=payment.pk).update(details={
        **payment.details, "manual": True, "reference": plan.reference,
        "received_on": received_on.isoformat()})
    payment = payment_apply(
        payment_id=payment.pk, actor=actor, source="staff",
        result=GatewayResult(status=PaymentStatus.SUCCEEDED, reference=plan.reference,
                             message=f"Received {received_on.isoformat()}, recorded by staff"))
    log_action(actor=actor, action="payment.recorded_by_staff", obj=payment, client=client,
               request=request, details={"amount": str(amount.amount), "method": method.name,
                                         "reference": plan.reference,
                                         "received_on": received_on.isoformat(),
                                         "invoice": payment.invoice.number})
    return payment, True


def _already_recorded(payment: Payment, client: Client) -> Payment:
    if payment.client_id != client.pk:
        raise PaymentError(_("Reference %(reference)s of %(method)s was already recorded as "
                             "payment #%(payment)s of another client.") % {
            "reference": payment.gateway_reference, "method": payment.method.name,
            "payment": payment.pk})
    return payment

"""Unpaid advance-payment invoices in the client's hands: paid from their page with a
method of the client's choice, or cancelled. (An order's invoice is paid or cancelled
with its order, in the cart.)"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.actionlog import log_action
from accounts.models import Client, User
from billing.invoicing import invoice_cancel
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from payments.models import Payment, PaymentMethod, PaymentPurpose, PaymentStatus
from payments.processing import PaymentError, open_payment_for, payment_cancel, payment_create


def _unpaid_advance_invoice(invoice: Invoice) -> Invoice:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.kind != InvoiceKind.ADVANCE_PAYMENT:
        raise PaymentError(_("This invoice is paid or cancelled with its order."))
    if invoice.status != InvoiceStatus.NEW:
        raise PaymentError(_("Invoice %(number)s is %(status)s.") % {
            "number": invoice.number, "status": invoice.get_status_display().lower()})
    return invoice


@transaction.atomic
def advance_invoice_pay(*, invoice: Invoice, client: Client, method: PaymentMethod,
                        idempotency_key: str, user: User, request=None
                        ) -> tuple[Payment, bool]:
    """A payment of the invoice's amount by ``method``; an invoice whose payment is still
    open gets that payment back (to go on with it), not a second one."""
    invoice = _unpaid_advance_invoice(invoice)
    under_way = open_payment_for(invoice)
    if under_way is not None:
        return under_way, False
    return payment_create(client=client, method=method, amount=invoice.total_money,
                          idempotency_key=idempotency_key, user=user, invoice=invoice,
                          purpose=PaymentPurpose.TOPUP, request=request)


def advance_invoice_cancel(*, invoice: Invoice, user: User, request=None) -> Invoice:
    """The client will not pay this invoice: its open payment (a gateway page left open,
    a transfer not made) is given up, then the invoice is cancelled."""
    under_way = open_payment_for(invoice)
    if under_way is not None:
        if under_way.status == PaymentStatus.UNKNOWN:
            raise PaymentError(_("The payment of this invoice is being checked with the "
                                 "payment system; try again in a few minutes."))
        payment_cancel(payment=under_way, actor=user, request=request,
                       reason=_("Cancelled by the client with its invoice."))
    with transaction.atomic():
        invoice = _unpaid_advance_invoice(invoice)
        if open_payment_for(invoice) is not None:
            raise PaymentError(_("A payment of this invoice has just started; try again."))
        invoice = invoice_cancel(invoice=invoice, reason=_("Cancelled by you."))
        log_action(actor=user, action="invoice.cancelled", obj=invoice, client=invoice.client,
                   request=request)
    return invoice

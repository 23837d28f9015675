"""What a captured payment was for, and who completes it.

A payment is made for one purpose: adding funds (its advance-payment invoice is paid by
the credit), or paying an order (the cart pays the order from the balance the credit just
filled). The completion runs inside the transaction that records the capture, whichever
way the news came (a saved card's answer, the return URL, a webhook, the resolver), so
the credit and what it was for commit together or not at all.

Higher layers register their purposes here when Django starts (the cart registers
``order`` and ``autopay`` in ``CartConfig.ready``): payments never imports them. A
handler returns the outcome and a note the client and staff read; it must not raise for
a business reason (an order cancelled meanwhile, a balance spent meanwhile): the money
is then kept on the balance and the note says why.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from billing.invoicing import invoice_mark_paid
from billing.models import Invoice, InvoiceStatus
from payments.models import Payment, PaymentOutcome, PaymentPurpose

Fulfil = Callable[[Payment], tuple[str, str]]
_HANDLERS: dict[str, Fulfil] = {}


def fulfils(*purposes: str) -> Callable[[Fulfil], Fulfil]:
    """Register the function that completes payments made for ``purposes``."""

    def register(handler: Fulfil) -> Fulfil:
        for purpose in purposes:
            _HANDLERS[purpose] = handler
        return handler

    return register


def fulfil(payment: Payment) -> tuple[str, str]:
    """Complete what ``payment`` (just credited) was for; returns (outcome, note)."""
    handler = _HANDLERS.get(payment.purpose)
    if handler is None:
        return PaymentOutcome.NONE, _("Nothing completes payments made for %(purpose)s.") % {
            "purpose": payment.get_purpose_display()}
    return handler(payment)


@fulfils(PaymentPurpose.TOPUP)
def _pay_advance_invoice(payment: Payment) -> tuple[str, str]:
    """Adding funds: the credit pays the advance-payment invoice."""
    invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
    if invoice.status == InvoiceStatus.NEW:
        invoice_mark_paid(invoice_id=invoice.pk, payment_transaction=payment.credit_transaction)
        return PaymentOutcome.APPLIED, _("Added to the balance; invoice %(number)s is paid.") % {
            "number": invoice.number}
    return PaymentOutcome.ON_BALANCE, _(
        "Invoice %(number)s was already %(status)s when the money arrived; the amount is on "
        "the balance.") % {"number": invoice.number,
                           "status": invoice.get_status_display().lower()}

"""The payments layer's beat jobs: settle what a gateway has not answered, and close
what clients walked away from."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from billing.invoicing import invoice_cancel
from billing.models import Invoice, InvoiceKind, InvoiceStatus
from payments.gateways import GatewayResult
from payments.models import OPEN_STATUSES, Payment, PaymentStatus
from payments.processing import payment_apply, payment_refresh, payment_resolve

P = PaymentStatus


def _abandoned() -> str:
    return _("Not paid in time: cancelled. Add funds again whenever you like.")


def payments_resolve_unknown(*, now: datetime, older_than_seconds: int = 60) -> int:
    """Ask the gateways about every payment in the Unknown status, and about saved-card
    charges still New a while after they were written (the process that was charging
    died): the same idempotent call tells what happened, and never charges twice."""
    cutoff = now - timedelta(seconds=older_than_seconds)
    unknown = Payment.objects.filter(status=P.UNKNOWN, updated_at__lt=cutoff) \
        | Payment.objects.filter(status=P.NEW, saved_method__isnull=False, created_at__lt=cutoff)
    count = 0
    for payment in unknown.select_related("method", "saved_method"):
        payment_resolve(payment)
        count += 1
    return count


def payments_expire_abandoned(*, now: datetime, older_than_hours: int = 24,
                              transfer_days: int = 14) -> int:
    """A payment the client walked away from (New or Pending at a card gateway for a day,
    a bank transfer that has not arrived in two weeks) is asked about once more, then
    failed, so it blocks its invoice and its order no more (staff can still confirm a
    transfer that arrives later); an advance-payment invoice that nothing will pay any
    more is cancelled with a note, so an unpaid top-up never looks like a debt."""
    cutoff = now - timedelta(hours=older_than_hours)
    stale = Payment.objects.filter(status__in=[P.NEW, P.PENDING], created_at__lt=cutoff,
                                   method__gateway__in=["sandbox", "stripe"]) \
        | Payment.objects.filter(status__in=[P.NEW, P.PENDING], method__gateway="bank_transfer",
                                 created_at__lt=now - timedelta(days=transfer_days))
    count = 0
    for payment in stale.select_related("method", "invoice"):
        payment = payment_refresh(payment, source="expiry")
        if payment.status in (P.NEW, P.PENDING):
            payment_apply(payment_id=payment.pk, source="expiry", result=GatewayResult(
                status=P.FAILED, message="Abandoned: not completed in time"))
            _cancel_if_abandoned(payment.invoice_id, now=now)
            count += 1
    # Top-ups declined (or given up) a day ago that the client did not pay another way.
    recent_payment = Payment.objects.filter(invoice=OuterRef("pk"), updated_at__gte=cutoff)
    for invoice_id in (Invoice.objects.filter(kind=InvoiceKind.ADVANCE_PAYMENT,
                                              status=InvoiceStatus.NEW, created_at__lt=cutoff)
                       .exclude(Exists(recent_payment)).values_list("pk", flat=True)):
        _cancel_if_abandoned(invoice_id, now=now)
    return count


@transaction.atomic
def _cancel_if_abandoned(invoice_id: int | None, *, now: datetime) -> None:
    """Cancel an advance-payment invoice that is still New and has no open payment."""
    invoice = Invoice.objects.select_for_update().filter(
        pk=invoice_id, kind=InvoiceKind.ADVANCE_PAYMENT, status=InvoiceStatus.NEW).first()
    if invoice is None or Payment.objects.filter(invoice=invoice,
                                                 status__in=OPEN_STATUSES).exists():
        return
    invoice_cancel(invoice=invoice, reason=_abandoned(), now=now)

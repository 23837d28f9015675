"""Issuing invoices and credit notes, and marking invoices paid.

An invoice is created as a draft with its lines, then issued in the same transaction:
it gets the next number of its company's gapless series for the year (django-sequences:
the number is taken under a row lock that is released at commit, so a rolled-back
issue leaves no gap), snapshots of the company and the payer, and its totals.

Lock order: the client's personal account is locked before the series' row. Paying from
the balance locks the account and then issues the invoice; if issuing took the series
first, two payments of one client would each hold what the other waits for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money
from sequences import get_next_value

from accounts.models import Client, Company, Payer
from billing.calculators import DocumentTotals, LineInput, LineTotals, document_totals
from billing.ledger import lock_accounts, personal_account
from billing.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Transaction,
)
from billing.taxes import NO_TAX, PAYER_ORDER, TaxTreatment, tax_treatment
from core.money import format_money, money_sum, round_money, zero
from services.models import Service

ADVANCE_PAYMENT_LINE = "Advanced payment"  # the seeds' wording


class InvoiceError(Exception):
    """The invoice cannot do that; the message says why."""


@dataclass(frozen=True)
class LineSpec:
    description: str
    unit_price: Money
    quantity: Decimal = Decimal(1)
    service: Service | None = None
    period_start: date | None = None
    period_end: date | None = None
    extra: dict = field(default_factory=dict)
    # The line's tax as the purchase computed it (an order's quote); given for every line,
    # the invoice carries these figures instead of computing them again.
    tax: Money | None = None


def company_snapshot(company: Company) -> dict:
    return {
        "name": company.name, "legal_name": company.legal_name,
        "country": str(company.country), "country_name": company.country.name,
        "address": company.address, "tax_id": company.tax_id, "vat_id": company.vat_id,
        "email": company.email, "phone": company.phone, "bank_details": company.bank_details,
    }


def payer_snapshot(payer: Payer | None, client: Client) -> dict:
    if payer is None:
        return {"kind": "individual", "name": client.name, "email": client.email,
                "country": "", "country_name": "", "address": "", "tax_id": "", "vat_id": "",
                "client_id": client.pk}
    return {
        "kind": payer.kind, "name": payer.name, "country": str(payer.country),
        "country_name": payer.country.name, "address": payer.address, "tax_id": payer.tax_id,
        "vat_id": payer.vat_id, "email": payer.email, "client_id": client.pk,
    }


def default_payer(client: Client) -> Payer | None:
    return client.payers.order_by(*PAYER_ORDER).first()


# Each kind of document has its own gapless series per company and year, told apart in
# the number by its mark: PREFIX2026-00001, PREFIXCN-2026-00001, PREFIXCD-2026-00001.
SERIES_MARK = {"invoice": "", "credit-note": "CN-", "closing": "CD-"}


def next_number(company: Company, client: Client, year: int, *, series: str = "invoice"
                ) -> str:
    """The next number of a company's series for the year, for a document of ``client``
    (whose personal account is locked first: see the lock order above)."""
    lock_accounts(personal_account(client))
    number = get_next_value(f"{series}:{company.pk}:{year}")
    return f"{company.invoice_prefix}{SERIES_MARK[series]}{year}-{number:05d}"


@transaction.atomic
def invoice_issue(
    *,
    company: Company,
    client: Client,
    kind: str,
    lines: list[LineSpec],
    payer: Payer | None = None,
    due_on: date | None = None,
    treatment: TaxTreatment | None = None,
    now: datetime | None = None,
) -> Invoice:
    """Issue an invoice (status New) from lines of net prices; tax is added per the
    company's and the payer's rules (advance payments carry none: tax is invoiced when
    the services are)."""
    if not lines:
        raise InvoiceError("An invoice needs at least one line.")
    now = now or timezone.now()
    currency = client.provider.currency
    payer = payer if payer is not None else default_payer(client)
    if treatment is None:
        treatment = NO_TAX if kind == InvoiceKind.ADVANCE_PAYMENT else tax_treatment(company,
                                                                                    payer)
    given = [line.tax is not None for line in lines]
    if any(given) and not all(given):
        raise InvoiceError("Either every line of an invoice carries its tax, or none does.")
    if all(given):
        computed = [LineTotals(round_money(line.unit_price * line.quantity), line.tax)
                    for line in lines]
        totals = DocumentTotals(computed, money_sum((t.net for t in computed), currency),
                                money_sum((t.tax for t in computed), currency))
    else:
        totals = document_totals(
            [LineInput(line.description, line.unit_price, line.quantity) for line in lines],
            currency=currency, tax_rate=treatment.rate, rounding=company.tax_rounding)
    invoice = Invoice.objects.create(
        company=company, client=client, payer=payer, kind=kind, currency=currency,
        status=InvoiceStatus.DRAFT, created_at=now)
    InvoiceLine.objects.bulk_create([
        InvoiceLine(invoice=invoice, position=position, description=spec.description,
                    service=spec.service, period_start=spec.period_start,
                    period_end=spec.period_end, quantity=spec.quantity,
                    unit_price=spec.unit_price.amount, net=line.net.amount, tax=line.tax.amount,
                    gross=line.gross.amount)
        for position, (spec, line) in enumerate(zip(lines, totals.lines, strict=True))
    ])
    invoice.number = next_number(company, client, timezone.localdate(now).year)
    invoice.status = InvoiceStatus.NEW
    invoice.issued_at = now
    invoice.due_on = due_on or timezone.localdate(now)
    invoice.subtotal = totals.net.amount
    invoice.tax_total = totals.tax.amount
    invoice.total = totals.gross.amount
    invoice.tax_treatment = treatment.code
    invoice.tax_rate = treatment.rate
    invoice.tax_name = treatment.name
    invoice.tax_note = treatment.note
    invoice.company_snapshot = company_snapshot(company)
    invoice.payer_snapshot = payer_snapshot(payer, client)
    invoice.save()
    return invoice


def advance_payment_invoice(*, company: Company, client: Client, amount: Money,
                            now: datetime | None = None) -> Invoice:
    """The seeds' advance-payment invoice: one line, "Advanced payment", no service."""
    return invoice_issue(company=company, client=client, kind=InvoiceKind.ADVANCE_PAYMENT,
                         lines=[LineSpec(ADVANCE_PAYMENT_LINE, amount)], now=now)


@transaction.atomic
def invoice_mark_paid(*, invoice_id: int, payment_transaction: Transaction,
                      now: datetime | None = None) -> Invoice:
    """New -> Paid. A replay (the invoice is already paid) changes nothing."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
    if invoice.status == InvoiceStatus.PAID:
        return invoice
    if invoice.status != InvoiceStatus.NEW:
        raise InvoiceError(f"Invoice {invoice.number} is {invoice.get_status_display().lower()}"
                           " and cannot be paid.")
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = now or timezone.now()
    invoice.payment_transaction = payment_transaction
    invoice.save(update_fields=["status", "paid_at", "payment_transaction"])
    return invoice


@transaction.atomic
def invoice_cancel(*, invoice: Invoice, reason: str = "", now: datetime | None = None
                   ) -> Invoice:
    """New -> Cancelled (an unpaid invoice that will not be paid), with the reason the
    client reads on it."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.CANCELLED:
        return invoice
    if invoice.status != InvoiceStatus.NEW:
        raise InvoiceError(_("Invoice %(number)s is %(status)s and cannot be cancelled.") % {
            "number": invoice.number, "status": invoice.get_status_display().lower()})
    invoice.status = InvoiceStatus.CANCELLED
    invoice.cancelled_at = now or timezone.now()
    invoice.status_note = reason[:255]
    invoice.save(update_fields=["status", "cancelled_at", "status_note"])
    return invoice


def credited_so_far(invoice: Invoice) -> Money:
    return money_sum((note.total_money for note in invoice.credit_notes.all()), invoice.currency)


@transaction.atomic
def credit_note_issue(*, invoice: Invoice, amount: Money, reason: str,
                      ledger_transaction: Transaction | None = None,
                      tax: Money | None = None, now: datetime | None = None) -> CreditNote:
    """Credit ``amount`` (gross, tax included) of an issued invoice, e.g. for a refund
    or a downgrade; ``tax`` is its tax when the purchase computed it (a downgrade in an
    order), else it is worked back from the invoice's rate. The credit notes of an
    invoice never add up to more than it."""
    lock_accounts(personal_account(invoice.client))  # the account before the invoice row
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    now = now or timezone.now()
    if invoice.status == InvoiceStatus.DRAFT:
        raise InvoiceError("A draft invoice is corrected by editing it, not by a credit note.")
    amount = round_money(amount)
    if amount.amount <= 0:
        raise InvoiceError("A credit note credits a positive amount.")
    remaining = invoice.total_money - credited_so_far(invoice)
    if amount > remaining:
        raise InvoiceError(f"Only {format_money(remaining)} of invoice {invoice.number} is "
                           "left to credit.")
    rate = invoice.tax_rate
    if tax is None:
        net = round_money(amount / (1 + rate)) if rate else amount
        tax = amount - net if rate else zero(invoice.currency)
    else:
        net = amount - tax
    note = CreditNote.objects.create(
        invoice=invoice, company=invoice.company, client=invoice.client,
        number=next_number(invoice.company, invoice.client, timezone.localdate(now).year,
                           series="credit-note"),
        reason=reason[:255], currency=invoice.currency, subtotal=net.amount,
        tax_total=tax.amount, total=amount.amount, tax_rate=rate,
        company_snapshot=company_snapshot(invoice.company),
        payer_snapshot=invoice.payer_snapshot, issued_at=now, transaction=ledger_transaction)
    CreditNoteLine.objects.create(credit_note=note, description=f"{reason} "
                                  f"(invoice {invoice.number})", net=net.amount,
                                  tax=tax.amount, gross=amount.amount)
    return note

import io
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from djmoney.money import Money
from pypdf import PdfReader

from accounts.models import Payer
from billing.documents import invoice_html, invoice_pdf
from billing.invoicing import (
    ADVANCE_PAYMENT_LINE,
    InvoiceError,
    LineSpec,
    advance_payment_invoice,
    credit_note_issue,
    invoice_issue,
)
from billing.models import DocumentTemplate, InvoiceKind, InvoiceStatus, TaxTreatmentCode
from billing.taxes import tax_treatment
from tests.factories.accounts import ClientFactory, CompanyFactory, PayerFactory
from tests.factories.billing import TaxRateFactory

pytestmark = pytest.mark.django_db


def usd(amount):
    return Money(Decimal(amount), "USD")


def _issue(company, client, amount="10.00", when=None, **kwargs):
    return invoice_issue(company=company, client=client, kind=InvoiceKind.SERVICES,
                         lines=[LineSpec("Hosting", usd(amount))], now=when, **kwargs)


def test_numbers_are_sequential_per_company_and_year():
    a = CompanyFactory(invoice_prefix="A-")
    b = CompanyFactory(invoice_prefix="B-")
    client = ClientFactory()
    jan = datetime(2027, 1, 5, tzinfo=UTC)

    numbers = [_issue(a, client, when=jan).number, _issue(a, client, when=jan).number,
               _issue(b, client, when=jan).number,
               _issue(a, client, when=datetime(2028, 1, 1, tzinfo=UTC)).number]

    assert numbers == ["A-2027-00001", "A-2027-00002", "B-2027-00001", "A-2028-00001"]


def test_a_rolled_back_invoice_leaves_no_gap():
    company = CompanyFactory(invoice_prefix="G-")
    client = ClientFactory()
    when = datetime(2027, 3, 1, tzinfo=UTC)
    _issue(company, client, when=when)

    def issue_then_fail():
        with transaction.atomic():
            _issue(company, client, when=when)
            raise RuntimeError("payment declined")

    with pytest.raises(RuntimeError):
        issue_then_fail()

    assert _issue(company, client, when=when).number == "G-2027-00002"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_get_every_number_once():
    company = CompanyFactory(invoice_prefix="C-")
    client = ClientFactory()
    numbers, barrier = [], threading.Barrier(20)
    when = datetime(2027, 6, 1, tzinfo=UTC)

    def issue():
        try:
            barrier.wait()
            numbers.append(_issue(company, client, when=when).number)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(numbers) == [f"C-2027-{n:05d}" for n in range(1, 21)]


def test_issued_invoice_keeps_the_payer_as_it_was():
    client = ClientFactory()
    payer = PayerFactory(client=client, address="Old Street 1", is_default=True)
    invoice = _issue(CompanyFactory(), client)

    Payer.objects.filter(pk=payer.pk).update(address="New Street 99")

    invoice.refresh_from_db()
    assert invoice.payer == payer
    assert invoice.payer_snapshot["address"] == "Old Street 1"
    assert "Old Street 1" in invoice_html(invoice)


def test_advance_payment_invoice_has_the_single_seed_line_and_no_tax():
    company = CompanyFactory()
    TaxRateFactory(company=company, rate=Decimal("0.2"))
    client = ClientFactory()

    invoice = advance_payment_invoice(company=company, client=client, amount=usd("50.00"))

    (line,) = invoice.lines.all()
    assert (line.description, line.service, line.gross) == (ADVANCE_PAYMENT_LINE, None,
                                                            Decimal("50.00"))
    assert (invoice.status, invoice.total, invoice.tax_total) == (
        InvoiceStatus.NEW, Decimal("50.00"), Decimal("0"))


@pytest.mark.parametrize(
    ("company_country", "payer_kind", "payer_country", "vat_id", "code", "rate"),
    [
        ("DE", "company", "FR", "FR40303265045", TaxTreatmentCode.REVERSE_CHARGE, "0"),
        ("DE", "company", "DE", "DE136695976", TaxTreatmentCode.STANDARD, "0.19"),
        ("DE", "individual", "FR", "", TaxTreatmentCode.STANDARD, "0.20"),
        ("DE", "company", "FR", "", TaxTreatmentCode.STANDARD, "0.20"),
        ("DE", "company", "US", "", TaxTreatmentCode.STANDARD, "0.19"),
        ("US", "company", "FR", "FR40303265045", TaxTreatmentCode.NONE, "0"),
    ],
)
def test_tax_treatment(company_country, payer_kind, payer_country, vat_id, code, rate):
    company = CompanyFactory(country=company_country)
    if company_country == "DE":
        TaxRateFactory(company=company, country="", rate=Decimal("0.19"))
        TaxRateFactory(company=company, country="FR", rate=Decimal("0.20"))
    payer = PayerFactory(kind=payer_kind, country=payer_country, vat_id=vat_id)

    treatment = tax_treatment(company, payer)

    assert (treatment.code, treatment.rate) == (code, Decimal(rate))


def test_reverse_charge_invoice_says_so():
    company = CompanyFactory(country="DE")
    TaxRateFactory(company=company, rate=Decimal("0.19"))
    payer = PayerFactory(kind="company", country="NL", vat_id="NL004495445B01",
                         is_default=True)

    invoice = _issue(company, payer.client, "100.00")

    assert (invoice.tax_total, invoice.total) == (Decimal("0"), Decimal("100.00"))
    assert "Reverse charge" in invoice_html(invoice)


def test_credit_notes_have_their_own_series_and_never_exceed_the_invoice():
    company = CompanyFactory(invoice_prefix="K-")
    TaxRateFactory(company=company, rate=Decimal("0.20"))
    client = ClientFactory()
    when = datetime(2027, 2, 1, tzinfo=UTC)
    invoice = _issue(company, client, "100.00", when=when)  # 120.00 with tax

    first = credit_note_issue(invoice=invoice, amount=usd("60.00"), reason="Downgrade",
                              now=when)
    second = credit_note_issue(invoice=invoice, amount=usd("60.00"), reason="Refund", now=when)
    with pytest.raises(InvoiceError, match=r"Only 0\.00 USD"):
        credit_note_issue(invoice=invoice, amount=usd("0.01"), reason="Too much", now=when)

    assert (first.number, second.number) == ("K-CN-2027-00001", "K-CN-2027-00002")
    assert (first.subtotal, first.tax_total) == (Decimal("50.00"), Decimal("10.00"))
    assert invoice.number == "K-2027-00001"


def test_invoice_pdf_is_a_pdf_with_the_number_and_total():
    company = CompanyFactory(legal_name="Straße & Söhne GmbH", invoice_prefix="P-")
    invoice = _issue(company, ClientFactory(), "42.50")

    pdf = invoice_pdf(invoice)

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert pdf.startswith(b"%PDF")
    assert invoice.number in text
    assert "42.50 USD" in text
    assert "Straße & Söhne GmbH" in text


def test_staff_template_replaces_the_default_for_its_company():
    company = CompanyFactory()
    DocumentTemplate.objects.create(kind="invoice", company=company,
                                    body="<p>Custom {{ document.number }} for "
                                         "{{ payer.name }}</p>")
    invoice = _issue(company, ClientFactory(name="Ann"))

    assert invoice_html(invoice) == f"<p>Custom {invoice.number} for Ann</p>"

"""Every currency's minor unit, end to end: yen have none, Bahraini dinars three. Forms,
formats, the daily split, invoices, closing documents and PDFs all follow the currency."""

import calendar
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.test import Client as Browser
from djmoney.money import Money

from billing.audit import audit
from billing.closing import closing_documents_issue
from billing.documents import closing_pdf, invoice_pdf
from billing.ledger import personal_account
from billing.models import Charge, ClosingDocument, Invoice, TaxRate
from cart.models import Order, OrderStatus
from core.days import start_of
from payments.models import Payment
from services.models import PlanPrice, ServiceStatus
from tests.factories.accounts import ClientUserFactory, CompanyFactory, ProviderFactory
from tests.factories.billing import top_up
from tests.factories.payments import PaymentMethodFactory
from tests.factories.services import DailyPlanFactory, PlanFactory, ServiceFactory

pytestmark = pytest.mark.django_db

CASES = {
    # currency, a month's price, the tax rate, what a form takes, what it refuses
    "JPY": ("3001", Decimal("0.10"), "1500", "1500.5", "JPY amounts are whole numbers"),
    "BHD": ("10.000", Decimal("0.10"), "1.250", "1.2505",
            "BHD amounts have at most 3 decimal places"),
}


@pytest.fixture(params=sorted(CASES))
def shop(request):
    currency = request.param
    _month_price, rate, *_ = CASES[currency]
    provider = ProviderFactory(currency=currency, is_default=True)
    company = CompanyFactory(invoice_prefix=f"{currency}-")
    company.providers.add(provider)
    TaxRate.objects.create(company=company, country="", rate=rate)
    PaymentMethodFactory(company=company, currency=currency, minimum=Decimal(1),
                         maximum=Decimal(1000000), name="Card")
    owner = ClientUserFactory(owner=True, client__provider=provider)
    top_up(owner.client, Money(Decimal(100000), currency))
    return currency, provider, company, owner


def test_the_daily_split_tax_and_closing_document_keep_the_minor_unit(shop):
    currency, provider, _company, owner = shop
    month_price, rate, *_ = CASES[currency]
    plan = DailyPlanFactory(provider=provider, daily=False)
    PlanPrice.objects.create(plan=plan, period="month", price=Money(month_price, currency))
    ServiceFactory(client=owner.client, plan=plan, billing_period="month",
                   status=ServiceStatus.ACTIVE,
                   activated_at=datetime(2027, 3, 31, 12, tzinfo=UTC))
    from billing.daily import charge_daily_chunk

    days = [date(2027, 4, d) for d in range(1, calendar.monthrange(2027, 4)[1] + 1)]
    for day in days:
        charge_daily_chunk(day, owner.client.pk, owner.client.pk)
    closing_documents_issue(month=date(2027, 4, 1), at=start_of(date(2027, 5, 1)))

    places = 0 if currency == "JPY" else 3
    unit = Decimal(1).scaleb(-places)
    charges = list(Charge.objects.filter(client=owner.client).order_by("period_start"))
    nets = [c.amount - c.tax for c in charges]
    # The test's own statement: the month's price in minor units over its 30 days, the
    # units left over one each on the last days.
    total_units = int(Decimal(month_price) / unit)
    base, left = divmod(total_units, 30)
    assert nets == [(base + (1 if i >= 30 - left else 0)) * unit for i in range(30)]
    assert sum(nets) == Decimal(month_price)
    assert all(c.tax == (n * rate).quantize(unit) for c, n in zip(charges, nets, strict=True))
    assert all(c.amount == c.amount.quantize(unit) for c in charges)
    document = ClosingDocument.objects.get()
    assert document.subtotal == Decimal(month_price)
    assert document.total == sum(c.amount for c in charges)
    html_pdf = closing_pdf(document)
    assert html_pdf.startswith(b"%PDF")
    browser = Browser()
    browser.force_login(owner.user)
    page = browser.get(f"/finances/closing/{document.pk}/").content.decode()
    shown = f"{document.total:,.{places}f} {currency}"
    assert shown in page
    assert audit() == []


def test_an_order_and_its_invoice_in_the_currency(shop):
    currency, provider, _company, owner = shop
    price = "1000" if currency == "JPY" else "12.345"
    plan = PlanFactory(provider=provider, monthly=price)
    browser = Browser()
    browser.force_login(owner.user)
    browser.post(f"/order/{plan.pk}/", {"period": "month", "hostname": "a.example.com"})
    page = browser.get("/cart/").content.decode()
    places = 0 if currency == "JPY" else 3
    total = Decimal(price) * Decimal("1.10")
    unit = Decimal(1).scaleb(-places)
    assert f"Pay {total.quantize(unit):,.{places}f} {currency}" in page

    browser.post("/cart/checkout/", {"pay_with": "balance", "idempotency_key": "k"})

    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    invoice = Invoice.objects.get(kind="services")
    assert invoice.total == total.quantize(unit)
    assert invoice_pdf(invoice).startswith(b"%PDF")
    invoice_page = browser.get(f"/finances/invoices/{invoice.pk}/").content.decode()
    assert f"{invoice.total:,.{places}f} {currency}" in invoice_page
    assert personal_account(owner.client).balance == Decimal(100000) - invoice.total
    assert audit() == []


def test_amounts_typed_in_the_currency(shop):
    currency, _provider, company, owner = shop
    _, _, takes, refuses, message = CASES[currency]
    method = PaymentMethodFactory._meta.model.objects.get(company=company)
    browser = Browser()
    browser.force_login(owner.user)

    refused = browser.post("/payments/add-funds/", {"method": method.pk, "amount": refuses,
                                                    "idempotency_key": "a"})
    taken = browser.post("/payments/add-funds/", {"method": method.pk, "amount": takes,
                                                  "idempotency_key": "b"})

    assert message in refused.content.decode()
    assert taken.status_code == 302
    assert Payment.objects.get().amount == Decimal(takes)
    sandbox_page = browser.get(taken["Location"]).content.decode()
    assert f"{Decimal(takes):,.{0 if currency == 'JPY' else 3}f} {currency}" in sandbox_page

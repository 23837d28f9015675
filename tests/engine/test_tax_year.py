"""A year of billing for a client whose payer is in a taxed country, on every charging
path (a daily service, a period service renewing itself, overages, a configuration
change), checked against amounts computed here, apart from the code under test: the tax
account is the rate on every path's net, each month has one closing document equal to
its daily charges and overages, and the books pass the audit."""

import calendar
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.test import Client as Browser
from django.utils import timezone
from djmoney.money import Money

from billing.closing import closing_documents_issue
from billing.ledger import personal_account, system_account
from billing.models import AccountKind, Charge, ChargeKind, ClosingDocument, TaxRate
from cart.checkout import order_for_services, order_pay_from_balance
from cart.models import ItemKind
from cart.pricing import ItemSpec
from core.days import start_of
from engine import clock
from services.models import AddonKind, ServiceAddon, ServiceStatus
from services.pricing import AddonValue
from tests.engine.conftest import START, complete_operations
from tests.factories.accounts import ClientUserFactory, PayerFactory
from tests.factories.billing import top_up
from tests.factories.services import AddonFactory, AddonPriceFactory, ServiceFactory, UsageFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("books_balance")]
RATE_PERCENT = 19
S = ServiceStatus


def _cents_tax(net_cents: int) -> int:
    """19 % of a charge, rounded to the cent half up: the test's own statement."""
    return (net_cents * RATE_PERCENT + 50) // 100


def _month_share(total_cents: int, day: date) -> int:
    days = calendar.monthrange(day.year, day.month)[1]
    base, left = divmod(total_cents, days)
    return base + (1 if day.day > days - left else 0)


def _cents(value: Decimal) -> int:
    return int(value * 100)


@pytest.fixture
def taxed_client(world):
    company = world["company"]
    company.country = "DE"
    company.save()
    TaxRate.objects.create(company=company, country="DE", rate=Decimal("0.19"))
    owner = ClientUserFactory(owner=True, client__provider=world["provider"])
    PayerFactory(client=owner.client, country="DE", is_default=True)
    top_up(owner.client, "2000.00")
    return owner


def test_a_taxed_year_on_every_path(world, taxed_client):
    client = taxed_client.client
    activated = datetime.combine(START - timedelta(days=1), time(12), tzinfo=UTC)
    ServiceFactory(client=client, plan=world["per_month"], billing_period="month",
                           status=S.ACTIVE, activated_at=activated)
    monthly = world["monthly"]
    disk = AddonFactory(plan=monthly, kind=AddonKind.QUANTITY, included=Decimal(0),
                        minimum=Decimal(0), maximum=Decimal(100), step=Decimal(1))
    AddonPriceFactory(addon=disk, period="month", price=Money("1.00", "USD"))
    site = ServiceFactory(client=client, plan=monthly, billing_period="month",
                          status=S.ACTIVE, activated_at=activated, auto_renew=True,
                          expires_on=START, anchor_day=1)
    ServiceAddon.objects.create(service=site, addon=disk, quantity=Decimal(0))
    traffic = AddonFactory(plan=monthly, kind=AddonKind.METERED, included=Decimal(100),
                           overage_price=Money("0.10", "USD"))
    change_day = date(2027, 3, 15)

    for offset in range(366):  # the whole of 2027 and 1 January 2028
        day = START + timedelta(days=offset)
        if day.day == 1 and day.year == 2027:  # a month of traffic: 50 units over, 5.00
            UsageFactory(service=site, addon=traffic, period_start=day,
                         period_end=date(2027 + day.month // 12, day.month % 12 + 1, 1),
                         quantity=Decimal(150))
        if day == change_day:  # 10 GB more for the rest of March: (10.00 x 17 / 31)
            site.refresh_from_db()
            order = order_for_services(
                client=client, idempotency_key="change", today=day, when=start_of(day),
                specs=[ItemSpec(ItemKind.CHANGE, site, values={
                    disk.pk: AddonValue(quantity=Decimal(10))})])
            order_pay_from_balance(order=order, user=None)
        clock.run_day(day)
        complete_operations()

    # Daily: 30.00 a month spread over its days; each day taxed on its own.
    days_run = [START + timedelta(days=i) for i in range(366)]
    days_2027 = days_run[:365]
    daily_net = {d: _month_share(3000, d) for d in days_run}
    daily_tax = {d: _cents_tax(net) for d, net in daily_net.items()}
    # Renewals: January to March at 10.00; from April (renewed 29 March, after the change)
    # 20.00, through January 2028 (renewed 29 December).
    renewal_nets = [1000] * 3 + [2000] * 10
    change_net = (1000 * 17 + 15) // 31  # 548.38... -> 548 cents, rounded half up
    overage_net, overage_tax = 500, _cents_tax(500)

    renewals = Charge.objects.filter(service=site, kind=ChargeKind.RENEWAL).order_by("pk")
    assert [_cents(r.amount - r.tax) for r in renewals] == renewal_nets
    assert [_cents(r.tax) for r in renewals] == [_cents_tax(n) for n in renewal_nets]
    change = Charge.objects.get(service=site, kind=ChargeKind.CHANGE)
    assert (_cents(change.amount - change.tax), _cents(change.tax)) == (
        change_net, _cents_tax(change_net))

    expected_tax = (sum(daily_tax.values()) + 12 * overage_tax
                    + sum(_cents_tax(n) for n in renewal_nets) + _cents_tax(change_net))
    taxes = system_account(AccountKind.TAX_PAYABLE, "USD", company=world["company"])
    assert _cents(sum(e.amount for e in taxes.entries.all())) == expected_tax
    # ... and that is the rate on every path's net, to within the rounding of each charge
    taxable_net = (sum(daily_net.values()) + 12 * overage_net + sum(renewal_nets)
                   + change_net)
    # (each charge rounds on its own: at most half a cent each way per charge)
    assert abs(expected_tax - taxable_net * RATE_PERCENT / 100) <= (len(daily_net) + 26) / 2

    # Each renewal is paid from the balance on its lead day (three days before the period
    # it renews; the first, already due, on the first day run): no invoice, the closing
    # document of the month it was paid in lists it.
    periods = [date(2027 + (m - 1) // 12, (m - 1) % 12 + 1, 1) for m in range(1, 14)]
    renewed_on = [max(START, period - timedelta(days=3)) for period in periods]
    assert [timezone.localdate(r.created_at) for r in renewals] == renewed_on
    assert not renewals.filter(invoice__isnull=False).exists()

    documents = list(ClosingDocument.objects.filter(client=client).order_by("period_start"))
    assert [d.period_start for d in documents] == [date(2027, m, 1) for m in range(1, 13)]
    for document in documents:
        # a month's days, its renewals, and the overage of the month before, charged on
        # its 1st
        month = [d for d in days_2027 if d.month == document.period_start.month]
        renewed = [n for n, day in zip(renewal_nets, renewed_on, strict=True)
                   if (day.year, day.month) == (2027, document.period_start.month)]
        overages = 0 if document.period_start.month == 1 else 1
        net = sum(daily_net[d] for d in month) + overages * overage_net + sum(renewed)
        tax = (sum(daily_tax[d] for d in month) + overages * overage_tax
               + sum(_cents_tax(n) for n in renewed))
        assert (_cents(document.subtotal), _cents(document.tax_total),
                _cents(document.total)) == (net, tax, net + tax), document.number
        assert sorted({line.kind for line in document.lines.all()}) == sorted(
            ["daily", "renewal", *(["overage"] if overages else [])])
    assert documents[0].number == "CLK-CD-2027-00001"
    assert documents[-1].number == "CLK-CD-2028-00001"  # issued on 1 January 2028
    assert personal_account(client).balance > 0


def test_a_month_is_documented_once_whatever_reruns(world, taxed_client):
    client = taxed_client.client
    activated = datetime.combine(START - timedelta(days=1), time(12), tzinfo=UTC)
    ServiceFactory(client=client, plan=world["per_day"], billing_period="day",
                   status=S.ACTIVE, activated_at=activated)
    for offset in range(31):
        clock.run_day(START + timedelta(days=offset))

    first = clock.run_day(date(2027, 2, 1))
    again = clock.run_day(date(2027, 2, 1))
    directly = closing_documents_issue(month=START, at=datetime(2027, 2, 2, tzinfo=UTC))

    assert (first.closing_documents, again.closing_documents, directly) == (1, 0, 0)
    document = ClosingDocument.objects.get()
    # 31 days of 1.00, each taxed 0.19
    assert (document.subtotal, document.tax_total, document.total) == (
        Decimal("31.00"), Decimal("5.89"), Decimal("36.89"))
    assert document.lines.get().quantity == 31
    assert document.payer_snapshot["country"] == "DE"
    assert document.issued_at.date() == date(2027, 2, 1)


def test_closing_documents_in_the_client_area(world, taxed_client):
    client = taxed_client.client
    activated = datetime.combine(START - timedelta(days=1), time(12), tzinfo=UTC)
    ServiceFactory(client=client, plan=world["per_day"], billing_period="day",
                   status=S.ACTIVE, activated_at=activated)
    for offset in range(32):
        clock.run_day(START + timedelta(days=offset))
    document = ClosingDocument.objects.get()
    browser = Browser()
    browser.force_login(taxed_client.user)

    listing = browser.get("/finances/closing/").content.decode()
    page = browser.get(f"/finances/closing/{document.pk}/").content.decode()
    pdf = browser.get(f"/finances/closing/{document.pk}/pdf/")

    assert document.number in listing
    assert "36.89 USD" in page
    assert "Daily charges" in page
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    stranger = ClientUserFactory(owner=True, client__provider=world["provider"])
    browser.force_login(stranger.user)
    assert browser.get(f"/finances/closing/{document.pk}/").status_code == 404
    assert browser.get(f"/finances/closing/{document.pk}/pdf/").status_code == 404

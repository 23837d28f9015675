"""The dashboard's figures equal what a person works out from the movements made below
(literal amounts, per currency), and each block shows only with its permission."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from djmoney.money import Money

from accounts.models import Client
from backoffice import figures
from billing.ledger import Leg, account_credit, account_debit, system_account
from billing.models import AccountKind, TransactionKind
from services.models import Operation, ServiceOperation, ServiceStatus
from support.models import TicketStatus
from tests.factories.accounts import (
    ClientFactory,
    ClientUserFactory,
    CompanyFactory,
    ProviderFactory,
)
from tests.factories.services import ServiceFactory
from tests.factories.support import SupportDepartmentFactory, TicketFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 15)


def at(day: int, month: int = 3, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _pay(customer, amount: str, when: datetime, key: str):
    clearing = system_account(AccountKind.GATEWAY_CLEARING, customer.currency, key="test")
    account_credit(client=customer, amount=Money(amount, customer.currency), counter=clearing,
                   kind=TransactionKind.TOPUP, description="Payment", idempotency_key=key,
                   at=when)


def _charge(customer, company, when: datetime, key: str, *, revenue: str, tax: str = "0",
            discount: str = "0", overdraft: bool = False):
    """A charge as the layers below post one: revenue and tax, less a discount."""
    currency = customer.currency
    legs = [Leg(system_account(AccountKind.REVENUE, currency, company=company),
                Money(revenue, currency)),
            Leg(system_account(AccountKind.TAX_PAYABLE, currency, company=company),
                Money(tax, currency)),
            Leg(system_account(AccountKind.DISCOUNTS, currency, company=company),
                -Money(discount, currency))]
    total = Money(revenue, currency) + Money(tax, currency) - Money(discount, currency)
    account_debit(client=customer, amount=total, counter=legs, kind=TransactionKind.CHARGE,
                  description="Charge", idempotency_key=key, at=when,
                  allow_overdraft=overdraft)


@pytest.fixture
def world():
    """Two providers in two currencies, with payments and charges in March and February
    2026, two clients in debt, and services in every state the dashboard counts."""
    usd = ProviderFactory(name="North", currency="USD")
    eur = ProviderFactory(name="South", currency="EUR")
    north_co, south_co = CompanyFactory(name="North Ltd"), CompanyFactory(name="South GmbH")
    north_co.providers.add(usd)
    south_co.providers.add(eur)
    alice, bob = ClientFactory(provider=usd), ClientFactory(provider=usd)
    carla = ClientFactory(provider=eur)
    dave, erin = ClientFactory(provider=usd), ClientFactory(provider=eur)

    _pay(alice, "100.00", at(15), "pay-a")          # today
    _pay(bob, "30.00", at(20, 2), "pay-b")          # last month
    _pay(carla, "50.00", at(2), "pay-c")            # this month
    _charge(alice, north_co, at(15, hour=11), "ch-1", revenue="10.00", tax="2.00")
    _charge(alice, north_co, at(3), "ch-2", revenue="10.00", discount="1.00")
    _charge(bob, north_co, at(10, 2), "ch-3", revenue="5.00")
    _charge(carla, south_co, at(15, hour=9), "ch-4", revenue="20.00")
    _charge(carla, south_co, at(16), "ch-5", revenue="7.00")   # tomorrow: not yet
    # Debts by hand (not revenue): the adjustments account is the counter.
    for customer, amount, key in ((dave, "30.00", "debt-d"), (erin, "10.00", "debt-e")):
        account_debit(client=customer, amount=Money(amount, customer.currency),
                      counter=system_account(AccountKind.ADJUSTMENTS, customer.currency),
                      kind=TransactionKind.ADJUSTMENT, description="Debit",
                      idempotency_key=key, allow_overdraft=True, at=at(1))

    Client.objects.update(created_at=at(1, 1))
    Client.objects.filter(pk__in=[alice.pk, carla.pk]).update(created_at=at(15, hour=8))
    Client.objects.filter(pk=bob.pk).update(created_at=at(5))
    ServiceFactory(client=alice, created_at=at(15))
    ServiceFactory(client=alice, created_at=at(4), status=ServiceStatus.IN_PROGRESS,
                   operation=Operation.ACTIVATION)
    failing = ServiceFactory(client=carla, created_at=at(1, 1),
                             status=ServiceStatus.IN_PROGRESS, operation=Operation.ACTIVATION)
    ServiceOperation.objects.create(service=failing, kind=Operation.ACTIVATION,
                                    status=ServiceOperation.Status.FAILED,
                                    target_status=ServiceStatus.ACTIVE,
                                    previous_status=ServiceStatus.ORDERED)
    return {"usd": usd, "eur": eur}


def test_revenue_is_net_of_discounts_without_tax_per_company_and_currency(world):
    assert figures.revenue(figures.today(DAY)) == [
        {"company": "North Ltd", "currency": "USD", "amount": Decimal("10.00")},
        {"company": "South GmbH", "currency": "EUR", "amount": Decimal("20.00")}]
    assert figures.revenue(figures.month_to_date(DAY)) == [
        {"company": "North Ltd", "currency": "USD", "amount": Decimal("19.00")},
        {"company": "South GmbH", "currency": "EUR", "amount": Decimal("20.00")}]


def test_the_twelve_months_chart_keeps_currencies_apart(world):
    chart = figures.revenue_by_month(DAY)
    assert chart["months"][0] == "2025-04"
    assert chart["months"][-1] == "2026-03"
    assert len(chart["months"]) == 12
    zeros = [Decimal(0)] * 10
    assert [Decimal(v) for v in chart["series"]["USD"]] == [*zeros, Decimal("5.00"),
                                                             Decimal("19.00")]
    assert [Decimal(v) for v in chart["series"]["EUR"]] == [*zeros, Decimal(0),
                                                             Decimal("20.00")]


def test_payments_received_per_provider_and_currency(world):
    assert figures.payments_received(figures.today(DAY)) == [
        {"provider": "North", "currency": "USD", "amount": Decimal("100.00"), "count": 1}]
    assert figures.payments_received(figures.month_to_date(DAY)) == [
        {"provider": "North", "currency": "USD", "amount": Decimal("100.00"), "count": 1},
        {"provider": "South", "currency": "EUR", "amount": Decimal("50.00"), "count": 1}]


def test_clients_services_operations_and_debt(world):
    assert figures.new_clients(figures.today(DAY)) == {"North": 1, "South": 1}
    assert figures.new_clients(figures.month_to_date(DAY)) == {"North": 2, "South": 1}
    assert figures.new_services(figures.today(DAY)) == {"North": 1}
    assert figures.new_services(figures.month_to_date(DAY)) == {"North": 2}
    assert figures.services_in_progress() == {"North": 1, "South": 1}
    assert figures.failed_operations() == {"South": 1}
    assert figures.clients_in_debt() == [
        {"provider": "North", "currency": "USD", "count": 1, "debt": Decimal("-30.00")},
        {"provider": "South", "currency": "EUR", "count": 1, "debt": Decimal("-10.00")}]


def test_tickets_waiting_are_those_of_the_queues_one_works(world, staff_in):
    technical = SupportDepartmentFactory()
    sales = SupportDepartmentFactory(slug="sales", name="Sales questions",
                                     staff_departments=["Sales"])
    for status in (TicketStatus.NEW, TicketStatus.AWAITING_STAFF, TicketStatus.AWAITING_CLIENT,
                   TicketStatus.CLOSED):
        TicketFactory(department=technical, status=status)
    TicketFactory(department=sales, status=TicketStatus.NEW)
    employee = staff_in("Technical support")
    assert figures.tickets_waiting(employee) == {"Technical support": 2}
    assert figures.tickets_waiting(staff_in("admin")) == {"Technical support": 2,
                                                          "Sales questions": 1}


@pytest.mark.parametrize(("department", "shown", "hidden"), [
    ("admin", ["Revenue", "Payments received", "Clients in debt", "Tickets waiting",
               "revenue-chart-data", "Failed operations now"], []),
    ("Accounting", ["Revenue", "Payments received", "Clients in debt", "revenue-chart-data"],
     ["Failed operations now"]),
    ("Technical support", ["Tickets waiting", "Services in progress now",
                           "Failed operations now"],
     ["Revenue", "Payments received", "Clients in debt", "revenue-chart-data"]),
    (None, ["All sections of the staff panel"],
     ["Revenue", "Payments received", "Clients in debt", "Tickets waiting"]),
])
def test_each_block_shows_only_with_its_permission(world, client, staff_in, department,
                                                   shown, hidden):
    staff_in(department)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    html = response.content.decode()
    for text in shown:
        assert text in html, text
    for text in hidden:
        assert text not in html, text
    assert client.get(reverse("admin:apps")).status_code == 200


def test_the_dashboard_shows_todays_figures_and_the_chart_data(client, staff_in):
    customer = ClientFactory(provider=ProviderFactory(name="Here", currency="EUR"))
    company = CompanyFactory(name="Here AG")
    company.providers.add(customer.provider)
    _pay(customer, "40.00", None, "now-pay")
    _charge(customer, company, None, "now-charge", revenue="12.50", tax="2.50")
    staff_in("admin")
    response = client.get(reverse("admin:index"))
    html = response.content.decode()
    assert response.context["revenue"] == [
        {"company": "Here AG", "currency": "EUR", "today": {"amount": Decimal("12.50")},
         "month": {"amount": Decimal("12.50")}}]
    assert '<script id="revenue-chart-data" type="application/json">' in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert "40.00" in html
    assert "12.50" in html


def test_a_client_user_is_sent_to_sign_in(client):
    client.force_login(ClientUserFactory().user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert client.get(reverse("admin:apps")).status_code == 302



def test_the_dashboard_costs_the_same_queries_however_much_there_is(client, staff_in):
    staff_in("admin")
    client.get(reverse("admin:index"))  # warm caches (content types, permissions)
    counts = []
    for size in (1, 15):
        provider = ProviderFactory(currency="EUR" if size > 1 else "USD")
        company = CompanyFactory()
        company.providers.add(provider)
        for i in range(size):
            customer = ClientFactory(provider=provider)
            _pay(customer, "10.00", None, f"bound-pay-{size}-{i}")
            _charge(customer, company, None, f"bound-charge-{size}-{i}", revenue="3.00")
            ServiceFactory(client=customer)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("admin:index")).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts

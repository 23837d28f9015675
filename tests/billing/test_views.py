"""Client area: Invoices, Expenses, Account information with balance and movements."""

from decimal import Decimal

import pytest
from djmoney.money import Money

from accounts.models import Access
from billing.charges import ChargeSpec, charge_post
from billing.invoicing import LineSpec, invoice_issue
from billing.ledger import personal_account, system_account
from billing.models import AccountKind, ChargeKind, InvoiceKind
from tests.factories.accounts import ClientUserFactory, CompanyFactory
from tests.factories.billing import set_credit_limit, top_up
from tests.factories.services import ServiceFactory

pytestmark = pytest.mark.django_db


def test_account_information_shows_balance_credit_limit_and_movements(owner_client, owner):
    top_up(owner.client, "120.00")
    set_credit_limit(owner.client, "50.00")

    html = owner_client.get("/account/").content.decode()

    assert "120.00 USD" in html
    assert "credit limit 50.00 USD" in html
    assert "Test top-up" in html


def test_expenses_list_every_debit_with_service_period_and_derivation(owner_client, owner):
    service = ServiceFactory(client=owner.client, name="vps-9.example")
    top_up(owner.client, "100.00")
    charge_post(client=owner.client, counter=system_account(AccountKind.REVENUE, "USD"),
                spec=ChargeSpec(ChargeKind.RENEWAL, "Renewal of vps-9.example",
                                Money("12.34", "USD"), idempotency_key="r1", service=service,
                                period_start="2027-01-01", period_end="2027-02-01",
                                derivation={"tariff": "Plan 1", "days": 31}))

    html = owner_client.get("/finances/expenses/").content.decode()

    assert "vps-9.example" in html
    assert "2027-01-01 \u2013 2027-02-01" in html  # en dash
    assert "12.34 USD" in html
    assert "How it was worked out" in html


def test_invoices_list_page_and_pdf(owner_client, owner):
    invoice = invoice_issue(company=CompanyFactory(), client=owner.client,
                            kind=InvoiceKind.SERVICES,
                            lines=[LineSpec("Web hosting", Money("9.99", "USD"))])

    listing = owner_client.get("/finances/invoices/").content.decode()
    page = owner_client.get(f"/finances/invoices/{invoice.pk}/").content.decode()
    pdf = owner_client.get(f"/finances/invoices/{invoice.pk}/pdf/")

    assert invoice.number in listing
    assert "Web hosting" in page
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_finance_pages_need_the_finance_right(client, owner):
    member = ClientUserFactory(client=owner.client, finances_access=Access.NONE)
    client.force_login(member.user)

    for url in ("/finances/invoices/", "/finances/expenses/", "/payments/credits/",
                "/payments/methods/", "/payments/add-funds/"):
        assert client.get(url).status_code == 403, url
    assert "Balance" not in client.get("/").content.decode()


def test_credits_list_every_credit(owner_client, owner):
    top_up(owner.client, "30.00")
    top_up(owner.client, "12.50")

    html = owner_client.get("/payments/credits/").content.decode()

    assert html.count("Test top-up") == 2
    assert "+12.50 USD" in html
    assert personal_account(owner.client).balance == Decimal("42.50")


def _charge(client, service, key, amount="1.00", day="2027-01-01"):
    charge_post(client=client, counter=system_account(AccountKind.REVENUE, "USD"),
                spec=ChargeSpec(ChargeKind.RENEWAL, f"Charge {key} of {service.name}",
                                Money(amount, "USD"), idempotency_key=key, service=service,
                                period_start=day, period_end=day))


def test_a_service_page_lists_that_service_s_charges(owner_client, owner):
    vps = ServiceFactory(client=owner.client, name="vps-1.example")
    other = ServiceFactory(client=owner.client, name="vps-2.example")
    top_up(owner.client, "10.00")
    _charge(owner.client, vps, "a")
    _charge(owner.client, other, "b")

    page = owner_client.get(f"/services/{vps.pk}/").content.decode()
    partial = owner_client.get(f"/finances/expenses/service/{vps.pk}/").content.decode()
    filtered = owner_client.get(f"/finances/expenses/?service={vps.pk}").content.decode()

    assert f'hx-get="/finances/expenses/service/{vps.pk}/"' in page
    assert "Charge a of vps-1.example" in partial
    assert "vps-2.example" not in partial
    assert "Charge a of vps-1.example" in filtered
    assert "Charge b" not in filtered


@pytest.mark.parametrize("url", [
    "/finances/expenses/service/{other}/",
    "/finances/expenses/?service={other}",
    "/finances/expenses/?service=abc",
])
def test_another_client_s_service_charges_do_not_exist(owner_client, owner, url):
    stranger = ServiceFactory(name="theirs.example")
    top_up(stranger.client, "10.00")
    _charge(stranger.client, stranger, "theirs")

    response = owner_client.get(url.format(other=stranger.pk))

    assert response.status_code == 404
    assert "theirs.example" not in response.content.decode()


def test_without_the_finance_right_a_service_page_shows_no_charges(client, owner):
    member = ClientUserFactory(client=owner.client, finances_access=Access.NONE)
    vps = ServiceFactory(client=owner.client)
    client.force_login(member.user)

    assert "/finances/expenses/service/" not in client.get(f"/services/{vps.pk}/").content.decode()
    assert client.get(f"/finances/expenses/service/{vps.pk}/").status_code == 403

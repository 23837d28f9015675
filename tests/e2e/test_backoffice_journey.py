"""An administrator opens the dashboard, whose chart Chart.js draws from the page's own
figures, then a client's page from the client list, and writes a note on it."""

import re

import pytest
from djmoney.money import Money
from playwright.sync_api import expect

from backoffice.models import ClientNote
from billing.ledger import Leg, account_debit, system_account
from billing.models import AccountKind, TransactionKind
from tests.factories.accounts import (
    PASSWORD,
    AdminFactory,
    ClientFactory,
    CompanyFactory,
    ProviderFactory,
)
from tests.factories.billing import top_up
from tests.factories.services import ServiceFactory
from tests.signin import browser_sign_in, totp_secret

pytestmark = pytest.mark.django_db(transaction=True)


def test_dashboard_chart_and_a_client_page(page, shoot):
    provider = ProviderFactory(name="North", currency="EUR")
    company = CompanyFactory(name="North AG")
    company.providers.add(provider)
    customer = ClientFactory(provider=provider, name="Zed Hosting")
    ServiceFactory(client=customer, name="zed-1.example")
    top_up(customer, "80.00")
    account_debit(client=customer, amount=Money("24.00", "EUR"),
                  counter=[Leg(system_account(AccountKind.REVENUE, "EUR", company=company),
                               Money("20.00", "EUR")),
                           Leg(system_account(AccountKind.TAX_PAYABLE, "EUR", company=company),
                               Money("4.00", "EUR"))],
                  kind=TransactionKind.CHARGE, description="Order", idempotency_key="e2e-1")
    admin = AdminFactory()

    browser_sign_in(page, admin.email, PASSWORD, secret=totp_secret(admin), next_url="/staff/")
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.locator("h1")).to_contain_text("Dashboard")
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('revenue-chart'))")
    drawn = page.evaluate("""() => {
        const chart = Chart.getChart(document.getElementById('revenue-chart'));
        return chart.data.datasets.map(d => [d.label, d.data[d.data.length - 1]]);
    }""")
    assert drawn == [["EUR", 20]]
    shoot("backoffice-dashboard")

    page.goto("/staff/accounts/client/")
    page.click("#result_list a:text('Open')")
    expect(page.locator("h1")).to_contain_text("Zed Hosting")
    expect(page.locator("#services")).to_contain_text("zed-1.example")
    expect(page.locator(".bo-header")).to_contain_text("56.00 EUR")
    page.fill("textarea[name=text]", "Asked for a quote on a dedicated server.")
    page.click("text=Add note")
    expect(page.locator("#notes")).to_contain_text("Asked for a quote on a dedicated server.")
    assert ClientNote.objects.get().author == admin
    shoot("backoffice-client-page")

"""The seeds' advance payment in a real browser: Add funds, approve on the sandbox page,
see the invoice Paid and the new balance."""

import pytest
from playwright.sync_api import expect

from billing.audit import audit
from billing.ledger import personal_account
from tests.factories.accounts import PASSWORD, ClientUserFactory, ProviderFactory
from tests.factories.payments import PaymentMethodFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_add_funds_through_the_sandbox(page, shoot):
    provider = ProviderFactory(is_default=True)
    owner = ClientUserFactory(owner=True, client__provider=provider)
    PaymentMethodFactory(provider=provider, name="Card (sandbox)")
    page.goto("/auth/login/")
    page.fill("input[name=login]", owner.user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    page.click("text=Add funds")
    page.check("input[name=method]")
    page.fill("input[name=amount]", "75.50")
    shoot("add-funds")
    page.click("button:has-text('Continue to payment')")

    expect(page.locator(".brand")).to_have_text("SANDBOX PAY")
    expect(page.locator(".amount")).to_contain_text("75.50 USD")
    shoot("sandbox-page")
    page.click("button:has-text('Approve payment')")

    expect(page.locator("h2")).to_contain_text("75.50 USD added to your balance")
    expect(page.locator(".balance-pill")).to_contain_text("75.50 USD")
    shoot("payment-succeeded")
    page.click("main a:has-text('-')")  # the invoice number
    expect(page.locator(".page-head")).to_contain_text("Paid")
    shoot("invoice-paid")
    assert personal_account(owner.client).balance == 75.50
    assert audit() == []

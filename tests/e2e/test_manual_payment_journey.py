"""An administrator records a bank wire from a client's page: the form, the confirmation
saying what will happen, then the payment on the client's balance."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.ledger import personal_account
from payments.models import Gateway, Payment
from tests.factories.accounts import (
    PASSWORD,
    AdminFactory,
    ClientFactory,
    CompanyFactory,
    ProviderFactory,
)
from tests.factories.payments import PaymentMethodFactory
from tests.signin import browser_sign_in, totp_secret

pytestmark = pytest.mark.django_db(transaction=True)


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_a_wire_recorded_from_the_client_page(page, shoot):
    provider = ProviderFactory(name="North", currency="EUR")
    company = CompanyFactory(name="North AG")
    company.providers.add(provider)
    customer = ClientFactory(provider=provider, name="Zed Hosting")
    PaymentMethodFactory(company=company, currency="EUR", gateway=Gateway.BANK_TRANSFER,
                         name="Bank wire", minimum=Decimal("1.00"))
    admin = AdminFactory()

    browser_sign_in(page, admin.email, PASSWORD, secret=totp_secret(admin), next_url="/staff/")
    page.goto(f"/staff/accounts/client/{customer.pk}/overview/")
    page.click("text=Record a payment")
    expect(page.locator("h1")).to_contain_text("Record a payment")
    page.fill("input[name=amount]", "250.00")
    page.fill("input[name=reference]", "NORTH-WIRE-2211")
    shoot("manual-payment-form")
    page.set_viewport_size({"width": 390, "height": 860})
    assert _no_sideways_scroll(page)
    shoot("manual-payment-form-390")
    page.set_viewport_size({"width": 1280, "height": 860})

    page.click("input[type=submit]")
    page.wait_for_url("**/auth/reauthenticate/**")  # money moved by hand: who is this?
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    expect(page.locator("#content")).to_contain_text("Balance after")
    expect(page.locator("#content")).to_contain_text("250.00")
    shoot("manual-payment-confirm")
    page.set_viewport_size({"width": 390, "height": 860})
    assert _no_sideways_scroll(page)
    shoot("manual-payment-confirm-390")
    page.set_viewport_size({"width": 1280, "height": 860})
    assert not Payment.objects.exists()

    page.click("input[name=confirm]")
    expect(page).to_have_url(re.compile(r"/staff/payments/payment/\d+/change/$"))
    expect(page.locator(".messagelist")).to_contain_text("was recorded as payment")
    assert personal_account(customer).balance == Decimal("250.00")

import pytest
from playwright.sync_api import expect

from accounts.models import ClientUser, Payer
from tests.factories.accounts import PASSWORD, ClientUserFactory, ProviderFactory
from tests.signin import browser_confirm_email

pytestmark = pytest.mark.django_db(transaction=True)


def _sign_in(page, email, password=PASSWORD):
    page.goto("/auth/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_sign_up_lands_in_the_client_area(page, shoot):
    ProviderFactory(is_default=True, currency="EUR")
    page.goto("/")
    expect(page).to_have_url("/auth/login/?next=/")
    shoot("sign-in")
    page.click("text=sign up")
    page.check("input[value=organisation]")
    page.fill("input[name=name]", "Blue Whale Hosting")
    page.fill("input[name=email]", "ops@bluewhale.example")
    page.fill("input[name=password1]", "deep-Ocean-2026")
    page.fill("input[name=password2]", "deep-Ocean-2026")
    shoot("sign-up")
    page.click("button[type=submit]")
    expect(page.locator("body")).to_contain_text("Verify Your Email Address")
    browser_confirm_email(page, "ops@bluewhale.example")

    expect(page.locator("h1")).to_contain_text("Welcome")
    expect(page.locator(".topbar")).to_contain_text("Blue Whale Hosting")
    shoot("home")
    assert ClientUser.objects.get(user__email="ops@bluewhale.example").is_owner


def test_owner_adds_a_payer_and_sees_a_bad_vat_id_refused(page, shoot):
    owner = ClientUserFactory(owner=True, client__provider=ProviderFactory(is_default=True))
    _sign_in(page, owner.user.email)
    page.click("nav >> text=Payers")
    page.click("text=Add payer")
    page.select_option("select[name=kind]", "company")
    page.fill("input[name=name]", "Whale GmbH")
    page.select_option("select[name=country]", "DE")
    page.fill("textarea[name=address]", "Hafenstraße 1, Hamburg")
    page.fill("input[name=vat_id]", "DE000000000")
    page.fill("input[name=email]", "books@whale.example")
    page.click("main button:has-text('Save')")

    expect(page.locator(".field.has-error")).to_contain_text("not a valid VAT id")
    shoot("payer-form-error")
    assert not Payer.objects.exists()

    page.fill("input[name=vat_id]", "DE136695976")
    page.click("main button:has-text('Save')")
    expect(page.locator("table")).to_contain_text("Whale GmbH")
    expect(page.locator("table")).to_contain_text("DE136695976")
    shoot("payers")

    page.click("nav >> text=Users")
    shoot("users")
    page.click("nav >> text=Account information")
    shoot("account-information")

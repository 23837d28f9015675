"""The whole journey in a real browser: sign up, add funds through the sandbox, order a
VPS with addons, pay from the balance, watch it go In progress then Active, change its
disk with "Pay for changes" and see the prorated charge in Expenses."""

from decimal import Decimal

import pytest
from djmoney.money import Money
from playwright.sync_api import expect

from billing.audit import audit
from billing.models import Charge, ChargeKind
from services.models import AddonKind, ServiceStatus
from services.periods import BillingPeriod
from tests.celery_worker import running_worker
from tests.factories.accounts import CompanyFactory, ProviderFactory
from tests.factories.payments import PaymentMethodFactory
from tests.factories.services import AddonFactory, AddonPriceFactory, PlanFactory
from tests.signin import browser_confirm_email

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    provider = ProviderFactory(is_default=True)
    company = CompanyFactory(invoice_prefix="E2E-")
    company.providers.add(provider)
    PaymentMethodFactory(company=company, name="Card (sandbox)")
    plan = PlanFactory(provider=provider, name="VPS Journey", module_settings={"delay": 2})
    disk = AddonFactory(plan=plan, name="Disk", code="disk", kind=AddonKind.QUANTITY,
                        included=Decimal(20), minimum=Decimal(20), maximum=Decimal(200),
                        step=Decimal(10), default_value=Decimal(20))
    AddonPriceFactory(addon=disk, period=BillingPeriod.MONTH, price=Money("0.50", "USD"))
    return plan, disk


def test_sign_up_top_up_order_activate_and_change(page, shoot, shop):
    plan, disk = shop
    page.goto("/auth/signup/")
    page.fill("input[name=name]", "Journey Tester")
    page.fill("input[name=email]", "journey@example.com")
    page.fill("input[name=password1]", "long-Journey-2026")
    page.fill("input[name=password2]", "long-Journey-2026")
    page.click("button[type=submit]")
    expect(page.locator("body")).to_contain_text("Verify Your Email Address")
    browser_confirm_email(page, "journey@example.com")
    expect(page.locator("h1")).to_contain_text("Welcome")

    page.click(".topbar >> text=Add funds")
    page.check("input[name=method]")
    page.fill("input[name=amount]", "100.00")
    page.click("button:has-text('Continue to payment')")
    page.click("button:has-text('Approve payment')")
    expect(page.locator(".balance-pill")).to_contain_text("100.00 USD")

    page.click("nav >> text=Order a service")
    page.click(f".plan-card:has-text('{plan.name}') >> text=Order")
    page.fill("input[name=hostname]", "journey.example.com")
    page.fill(f"input[name=addon_{disk.pk}]", "60")
    expect(page.locator("#price")).to_contain_text("30.00 USD")  # 10.00 + 40 GB x 0.50
    shoot("journey-order")
    page.click("button:has-text('Add to cart')")
    expect(page.locator("#cart-total")).to_have_text("30.00 USD")
    shoot("journey-cart")

    with running_worker():
        page.click("button:has-text('Pay 30.00 USD')")
        expect(page.locator("h1")).to_contain_text("Order #")
        page.click("main table >> text=journey.example.com")
        expect(page.locator("#service-live .card-head .badge")).to_contain_text("In progress")
        shoot("journey-in-progress")
        expect(page.locator("#service-live .card-head .badge")).to_have_text(
            "Active", timeout=30_000)
        shoot("journey-active")

        page.click("text=Configuration")
        page.fill(f"input[name=addon_{disk.pk}]", "100")
        expect(page.locator("#price")).to_contain_text("Proration")
        shoot("journey-change")
        page.click("button:has-text('Pay for changes')")
        page.click("button:has-text('Pay')")
        expect(page.locator(".messages")).to_contain_text("Paid from your personal account")

    page.click("nav >> text=Expenses")
    expect(page.locator("table")).to_contain_text("Configuration change of journey.example.com")
    shoot("journey-expenses")
    change = Charge.objects.get(kind=ChargeKind.CHANGE)
    assert Decimal("0") < change.amount <= Decimal("20.00")
    assert change.service.status in (ServiceStatus.IN_PROGRESS, ServiceStatus.ACTIVE)
    assert audit() == []

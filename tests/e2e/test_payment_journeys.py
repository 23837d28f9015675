"""Paying a pending order with a saved card, and a staff refund, in a real browser: the
client sees what each way to pay takes from where, gives up a gateway page it left open,
pays with the saved card once; accounting refunds part of the top-up to the card."""

from decimal import Decimal

import pytest
from djmoney.money import Money
from playwright.sync_api import expect

from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from billing.audit import audit
from billing.ledger import personal_account
from cart.models import Order, OrderStatus
from payments.models import Payment, SandboxRefund, SandboxTransaction
from services.models import AddonKind
from services.periods import BillingPeriod
from tests.e2e.conftest import SCREENSHOTS
from tests.factories.accounts import (
    PASSWORD,
    ClientUserFactory,
    CompanyFactory,
    ProviderFactory,
    StaffFactory,
)
from tests.factories.payments import PaymentMethodFactory
from tests.factories.services import AddonFactory, AddonPriceFactory, PlanFactory
from tests.signin import browser_sign_in, totp_secret

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    provider = ProviderFactory(is_default=True)
    company = CompanyFactory(invoice_prefix="PAY-")
    company.providers.add(provider)
    PaymentMethodFactory(company=company, name="Card (sandbox)", minimum=Decimal("1.00"))
    plan = PlanFactory(provider=provider, name="VPS Pay", module_settings={"delay": 0})
    disk = AddonFactory(plan=plan, name="Disk", code="disk", kind=AddonKind.QUANTITY,
                        included=Decimal(20), minimum=Decimal(20), maximum=Decimal(200),
                        step=Decimal(10), default_value=Decimal(20))
    AddonPriceFactory(addon=disk, period=BillingPeriod.MONTH, price=Money("0.50", "USD"))
    owner = ClientUserFactory(owner=True, client__provider=provider)
    return owner, plan, disk


def _sign_in(page, email):
    page.goto("/auth/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_a_pending_order_paid_with_a_saved_card_then_a_staff_refund(page, shoot, shop,
                                                                    browser, live_server):
    owner, plan, disk = shop
    _sign_in(page, owner.user.email)

    # Add funds, saving the card on the sandbox's page.
    page.click(".topbar >> text=Add funds")
    page.check("input[name=method]")
    page.fill("input[name=amount]", "30.00")
    page.check("input[name=save_method]")
    page.click("button:has-text('Continue to payment')")
    page.click("button:has-text('Approve payment')")
    expect(page.locator(".balance-pill")).to_contain_text("30.00 USD")

    # Order a VPS of 20.00; start paying by card, then walk away from the gateway page.
    page.click("nav >> text=Order a service")
    page.click(f".plan-card:has-text('{plan.name}') >> text=Order")
    page.fill("input[name=hostname]", "pay.example.com")
    page.fill(f"input[name=addon_{disk.pk}]", "40")
    page.click("button:has-text('Add to cart')")
    page.check("input[name=pay_with][value^='method:']")
    expect(page.locator("[data-pay-summary]")).to_have_text("20.00 USD by Card (sandbox)")
    page.check("input[name=pay_with][value=balance]")
    expect(page.locator("[data-pay-summary]")).to_have_text(
        "20.00 USD from your personal account")
    page.check("input[name=pay_with][value^='method:']")
    shoot("pay-choice-card")
    page.click("[data-pay-button]")
    expect(page.locator(".brand")).to_have_text("SANDBOX PAY")

    order = Order.objects.get()
    page.goto("/orders/")
    page.click(f"main a[href='/orders/{order.pk}/']")
    expect(page.locator("main")).to_contain_text("is under way")
    shoot("order-payment-under-way")
    page.click("button:has-text('Cancel this payment')")

    # Pay the pending order with the saved card: charged once, the order paid.
    page.goto(f"/orders/{order.pk}/")
    page.check("input[name=pay_with][value^='saved:']")
    expect(page.locator("[data-pay-button]")).to_have_text("Pay 20.00 USD")
    expect(page.locator("[data-pay-summary]")).to_have_text("20.00 USD by Card (sandbox)")
    shoot("order-pay-saved-card")
    page.click("[data-pay-button]")
    expect(page.locator(".messages")).to_contain_text("Paid with Sandbox card •••• 4242")
    shoot("order-paid-saved-card")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    charged = SandboxTransaction.objects.filter(status="succeeded",
                                                reference__startswith="sbx_saved_")
    assert [c.amount for c in charged] == [Decimal("20.00")]
    assert personal_account(owner.client).balance == Decimal("30.00")

    # Accounting refunds 10.00 of the top-up to the card, in the staff panel.
    accounting = department_sync(name="Accounting",
                                 codenames=DEFAULT_DEPARTMENTS["Accounting"])
    accountant = StaffFactory(email="books@example.com")
    accountant.groups.add(accounting)
    staff_context = browser.new_context(base_url=live_server.url,
                                        viewport={"width": 1280, "height": 860})
    staff = staff_context.new_page()
    browser_sign_in(staff, accountant.email, PASSWORD, secret=totp_secret(accountant))
    top_up = Payment.objects.get(purpose="topup")
    staff.goto(f"/staff/payments/payment/{top_up.pk}/change/")
    staff.click(".object-tools >> text=Refund")
    staff.fill("input[name=amount]", "10.00")
    staff.fill("input[name=reason]", "Goodwill")
    staff.screenshot(path=str(SCREENSHOTS / "staff-refund-form.png"), full_page=True)
    staff.click("input[type=submit]")
    # A refund needs a fresh re-authentication; allauth then sends the refund on.
    staff.wait_for_url("**/auth/reauthenticate/**")
    staff.fill("input[name=password]", PASSWORD)
    staff.locator("form button[type=submit]").last.click()
    expect(staff.locator(".messagelist")).to_contain_text("10.00 USD was refunded")
    staff.screenshot(path=str(SCREENSHOTS / "staff-refund-done.png"), full_page=True)
    staff_context.close()

    assert [r.amount for r in SandboxRefund.objects.all()] == [Decimal("10.00")]
    assert personal_account(owner.client).balance == Decimal("20.00")
    assert audit() == []

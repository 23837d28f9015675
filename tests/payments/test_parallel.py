"""Thirty to fifty requests at once — tabs, double clicks, retries — never move money twice
and never answer 500."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client as Browser

from accounts.models import ActionLog
from billing.audit import audit
from billing.ledger import personal_account
from cart.models import Order, OrderStatus
from payments.models import Payment, Refund, SandboxTransaction, SavedPaymentMethod
from tests.cart.helpers import order_vps
from tests.factories.accounts import StaffFactory
from tests.factories.billing import top_up
from tests.parallel import at_once
from tests.payments.helpers import decide, start_top_up
from tests.reauth import sign_in_fresh

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
TABS = 30


def _browsers(user, count=TABS):
    browsers = []
    for _ in range(count):
        browser = Browser(raise_request_exception=False)
        sign_in_fresh(browser, user)
        browsers.append(browser)
    return browsers


def _statuses(results):
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == [], errors[:3]
    return sorted({r.status_code for r in results})


def test_the_same_add_funds_form_sent_thirty_times_makes_one_payment(owner, method):
    browsers = _browsers(owner.user)
    form = browsers[0].get("/payments/add-funds/").content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)
    data = {"method": method.pk, "amount": "25.00", "idempotency_key": key}

    results = at_once(TABS, lambda i: browsers[i].post("/payments/add-funds/", data))

    assert _statuses(results) == [302]
    assert Payment.objects.count() == 1
    assert SandboxTransaction.objects.count() == 1
    assert owner.client.invoices.count() == 1
    assert audit() == []


def test_one_checkout_sent_thirty_times_makes_one_order_and_one_debit(owner, owner_client,
                                                                      vps_plan):
    top_up(owner.client, "100.00")
    order_vps(owner_client, vps_plan, disk="40")
    browsers = _browsers(owner.user)
    data = {"pay_with": "balance", "idempotency_key": "one-click"}

    results = at_once(TABS, lambda i: browsers[i].post("/cart/checkout/", data))

    assert _statuses(results) == [302]
    assert Order.objects.get().status == OrderStatus.PAID
    assert personal_account(owner.client).balance == Decimal("80.00")
    assert audit() == []


def test_one_order_paid_from_thirty_tabs_with_a_saved_card_charges_it_once(
        owner, owner_client, vps_plan, sandbox_method):
    saved = SavedPaymentMethod.objects.create(
        client=owner.client, method=sandbox_method, token="sbx_card_tabs",
        label="Sandbox card •••• 4242", is_default=True)
    order_vps(owner_client, vps_plan, disk="40")
    owner_client.post("/cart/checkout/", {"pay_with": "balance", "idempotency_key": "first"})
    order = Order.objects.get()
    browsers = _browsers(owner.user)

    results = at_once(TABS, lambda i: browsers[i].post(
        f"/orders/{order.pk}/pay/", {"pay_with": f"saved:{saved.pk}",
                                     "idempotency_key": f"tab-{i}"}))

    assert _statuses(results) == [302]
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert SandboxTransaction.objects.filter(status="succeeded").count() == 1
    assert Payment.objects.filter(status="succeeded").count() == 1
    assert personal_account(owner.client).balance == Decimal("0.00")
    assert audit() == []


def test_one_order_paid_from_thirty_tabs_from_the_balance_debits_once(owner, owner_client,
                                                                      vps_plan):
    order_vps(owner_client, vps_plan, disk="40")
    owner_client.post("/cart/checkout/", {"pay_with": "balance", "idempotency_key": "first"})
    order = Order.objects.get()
    top_up(owner.client, "100.00")
    browsers = _browsers(owner.user)

    results = at_once(TABS, lambda i: browsers[i].post(
        f"/orders/{order.pk}/pay/", {"pay_with": "balance", "idempotency_key": f"tab-{i}"}))

    assert _statuses(results) == [302]
    assert Order.objects.get().status == OrderStatus.PAID
    assert personal_account(owner.client).balance == Decimal("80.00")
    assert audit() == []


def _accountant():
    staff = StaffFactory()
    staff.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="payments", codename__in=["view_payment", "add_refund",
                                                          "change_payment"]))
    return staff


def test_thirty_staff_refunds_at_once_refund_what_was_paid_once(owner, owner_client, method):
    started = start_top_up(owner_client, method, "25.00")
    sandbox = decide(owner_client, started, "approve")
    owner_client.get(sandbox.return_url)
    payment = Payment.objects.get()
    assert payment.status == "succeeded"
    staff = _accountant()
    browsers = _browsers(staff, count=TABS)
    url = f"/staff/payments/payment/{payment.pk}/refund/"

    results = at_once(TABS, lambda i: browsers[i].post(url, {
        "amount": "25.00", "reason": "Closing the account", "idempotency_key": f"r-{i}"}))

    assert _statuses(results) in ([200, 302], [302])
    assert Refund.objects.filter(status="succeeded").count() == 1
    sandbox.refresh_from_db()
    assert sandbox.refunded == Decimal("25.00")
    assert personal_account(owner.client).balance == Decimal("0.00")
    assert ActionLog.objects.filter(action="payment.refunded").count() == 1
    assert audit() == []

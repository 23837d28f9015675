"""Checkout: from the balance, or a payment for the missing amount; once per click."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.ledger import personal_account
from billing.models import Charge, ChargeKind, InvoiceStatus
from cart.models import CartItem, Order, OrderStatus
from payments.models import Payment, PaymentStatus
from services.models import ServiceStatus
from tests.cart.helpers import order_vps, pay
from tests.factories.billing import top_up
from tests.factories.services import DailyPlanFactory, ServiceFactory
from tests.payments.helpers import decide

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("books_balance")]


def test_order_paid_from_the_balance(owner_client, owner, vps_plan, company):
    top_up(owner.client, "100.00")
    assert order_vps(owner_client, vps_plan, disk="40").status_code == 302

    response = pay(owner_client)

    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}/"
    assert order.status == OrderStatus.PAID
    assert order.total == Decimal("20.00")  # 10.00 plan + 20 GB above the included x 0.50
    assert order.invoice.status == InvoiceStatus.PAID
    assert order.invoice.number.startswith("SHOP-")
    assert personal_account(owner.client).balance == Decimal("80.00")
    service = order.items.get().service
    assert (service.status, service.operation) == (ServiceStatus.IN_PROGRESS, "activation")
    assert service.expires_on is not None
    assert Charge.objects.get(service=service).kind == ChargeKind.ORDER
    assert not CartItem.objects.exists()


def test_the_price_is_computed_on_the_server_never_taken_from_the_form(owner_client, owner,
                                                                       vps_plan):
    top_up(owner.client, "100.00")
    order_vps(owner_client, vps_plan, disk="40", price="0.01", total="0.01")

    pay(owner_client, total="0.01", amount="0.01")

    assert Order.objects.get().total == Decimal("20.00")
    assert personal_account(owner.client).balance == Decimal("80.00")


def test_the_same_checkout_twice_debits_once(owner_client, owner, vps_plan):
    top_up(owner.client, "100.00")
    order_vps(owner_client, vps_plan)

    pay(owner_client, key="same-click")
    pay(owner_client, key="same-click")

    assert Order.objects.count() == 1
    assert personal_account(owner.client).balance == Decimal("80.00")


def test_missing_amount_paid_through_the_gateway_then_the_order_completes(
        owner_client, owner, vps_plan, sandbox_method, django_capture_on_commit_callbacks):
    top_up(owner.client, "5.00")
    order_vps(owner_client, vps_plan, disk="40")

    started = pay(owner_client, pay_with=f"method:{sandbox_method.pk}", use_balance="1")
    order = Order.objects.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert "/payments/sandbox/" in started["Location"]
    payment = Payment.objects.get(purpose="order")
    assert payment.amount == Decimal("15.00")

    sandbox = decide(owner_client, started, "approve")
    with django_capture_on_commit_callbacks(execute=True):
        page = owner_client.get(sandbox.return_url, follow=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert personal_account(owner.client).balance == Decimal("0.00")
    assert "Back to your order" in page.content.decode()
    assert order.items.get().service.status == ServiceStatus.IN_PROGRESS


def test_a_declined_payment_leaves_the_order_pending_and_nothing_debited(
        owner_client, owner, vps_plan, sandbox_method, django_capture_on_commit_callbacks):
    order_vps(owner_client, vps_plan)
    started = pay(owner_client, pay_with=f"method:{sandbox_method.pk}")
    sandbox = decide(owner_client, started, "decline")
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.get(sandbox.return_url)

    order = Order.objects.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.items.get().service.status == ServiceStatus.ORDERED
    assert Payment.objects.get().status == PaymentStatus.FAILED
    assert personal_account(owner.client).balance == 0
    orders_page = owner_client.get("/orders/").content.decode()
    assert "Pending payment" in orders_page
    assert f"/orders/{order.pk}/" in orders_page

    top_up(owner.client, "50.00")
    owner_client.post(f"/orders/{order.pk}/pay/", {"pay_with": "balance",
                                                  "idempotency_key": "again"})
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"disk": "15"}, "Ensure this value is greater than or equal to 20"),
        ({"disk": "110"}, "Ensure this value is less than or equal to 100"),
        ({"disk": "45"}, "in steps of 10 GB from 20"),
        ({"hostname": "not a host"}, "Enter a name such as server1.example.com"),
        ({"period": "year"}, "Select a valid choice"),
    ],
)
def test_bad_order_input_gets_a_message_and_creates_nothing(owner_client, vps_plan, fields,
                                                             message):
    response = order_vps(owner_client, vps_plan, **fields)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CartItem.objects.exists()


def test_an_archived_plan_cannot_be_ordered(owner_client, vps_plan):
    vps_plan.is_archived = True
    vps_plan.save()

    response = order_vps(owner_client, vps_plan)

    assert "can no longer be ordered" in owner_client.get(response["Location"]).content.decode()
    assert not CartItem.objects.exists()


def test_another_clients_service_or_plan_is_404(owner_client, vps_plan):
    foreign = ServiceFactory(expires_on=timezone.localdate() + timedelta(days=9))
    foreign_plan = foreign.plan

    assert owner_client.get(f"/cart/services/{foreign.pk}/renew/").status_code == 404
    assert owner_client.post(f"/cart/services/{foreign.pk}/change/", {}).status_code == 404
    assert owner_client.post(f"/cart/services/{foreign.pk}/auto-renew/").status_code == 404
    assert owner_client.get(f"/order/{foreign_plan.pk}/").status_code == 404
    assert not CartItem.objects.exists()


def test_renewal_extends_the_expiry_by_the_period_exactly(owner_client, owner, vps_plan):
    top_up(owner.client, "100.00")
    service = ServiceFactory(client=owner.client, plan=vps_plan, expires_on=date(2027, 1, 31),
                             anchor_day=31)

    for expected in (date(2027, 2, 28), date(2027, 3, 31)):
        owner_client.post(f"/cart/services/{service.pk}/renew/", {"period": "month"})
        pay(owner_client)
        service.refresh_from_db()
        assert service.expires_on == expected
    assert personal_account(owner.client).balance == Decimal("80.00")
    charges = Charge.objects.filter(service=service).order_by("pk")
    assert [(c.period_start, c.period_end) for c in charges] == [
        (date(2027, 1, 31), date(2027, 2, 28)), (date(2027, 2, 28), date(2027, 3, 31))]


def test_daily_services_cannot_be_renewed(owner_client, owner, provider):
    service = ServiceFactory(client=owner.client, plan=DailyPlanFactory(provider=provider),
                             billing_period="day")

    response = owner_client.post(f"/cart/services/{service.pk}/renew/", {"period": "day"},
                                 follow=True)

    assert "Services that are charged daily cannot be renewed" in response.content.decode()
    assert not CartItem.objects.exists()


def test_quick_order_waits_in_configuration_required(owner_client, owner, vps_plan):
    vps_plan.needs_configuration = True
    vps_plan.save()
    top_up(owner.client, "100.00")
    order_vps(owner_client, vps_plan, hostname="")
    pay(owner_client)
    service = Order.objects.get().items.get().service
    assert service.status == ServiceStatus.CONFIGURATION_REQUIRED

    page = owner_client.get(f"/services/{service.pk}/").content.decode()
    owner_client.post(f"/services/{service.pk}/configure/", {"hostname": "box.example.org"})

    assert "Configuration required" in page
    service.refresh_from_db()
    assert service.parameters["hostname"] == "box.example.org"
    assert (service.status, service.operation) == (ServiceStatus.IN_PROGRESS, "activation")


def test_paid_orders_show_the_instruction_manual(owner_client, owner, vps_plan):
    vps_plan.instruction_manual = "Log in over SSH as root."
    vps_plan.save()
    top_up(owner.client, "100.00")
    order_vps(owner_client, vps_plan)
    pay(owner_client)

    page = owner_client.get("/orders/").content.decode()

    assert "Paid services" in page
    assert "Log in over SSH as root." in page

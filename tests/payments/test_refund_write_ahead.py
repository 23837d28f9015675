"""Refunds are written ahead: recorded and held before the gateway is asked, debited only
when it confirms, released when it refuses, asked again when it did not answer; every
step in the action log. Driven through the staff panel with real transactions."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client as Browser
from django.utils import timezone

from accounts.models import ActionLog
from billing.audit import audit
from billing.ledger import personal_account
from billing.models import AccountHold, InvoiceStatus
from cart.models import Order, OrderStatus
from payments.gateways.sandbox import SandboxGateway
from payments.models import Payment, PaymentStatus, Refund, SandboxRefund, SandboxTransaction
from payments.refunds import refunds_settle_pending
from tests.cart.helpers import order_vps, pay
from tests.factories.accounts import StaffFactory
from tests.factories.payments import PaymentMethodFactory
from tests.payments.helpers import decide, start_top_up
from tests.reauth import sign_in_fresh

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("books_balance")]


@pytest.fixture
def accountant(db):
    staff = StaffFactory()
    staff.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="payments",
        codename__in=["view_payment", "change_payment", "add_refund", "view_refund"]))
    return staff


def _paid_top_up(owner_client, method, amount="25.00") -> Payment:
    started = start_top_up(owner_client, method, amount)
    owner_client.get(decide(owner_client, started, "approve").return_url)
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.SUCCEEDED
    return payment


def _refund(staff, payment, amount, key="r-1", reason="Unused month"):
    """Staff submit the refund form, in a browser of their own."""
    client = Browser()
    sign_in_fresh(client, staff)
    return client.post(f"/staff/payments/payment/{payment.pk}/refund/", {
        "amount": amount, "reason": reason, "idempotency_key": key}, follow=True)


def test_a_staff_refund_returns_the_money_to_the_card_and_debits_the_balance_once(
        owner_client, owner, method, accountant):
    payment = _paid_top_up(owner_client, method)

    page = _refund(accountant, payment, "10.00")

    assert "10.00 USD was refunded" in page.content.decode()
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.SUCCEEDED
    sandbox = SandboxTransaction.objects.get(reference=payment.gateway_reference)
    assert sandbox.refunded == Decimal("10.00")
    assert list(SandboxRefund.objects.values_list("amount", "idempotency_key")) == [
        (Decimal("10.00"), f"refund-{refund.pk}")]
    assert personal_account(owner.client).balance == Decimal("15.00")
    payment.refresh_from_db()
    assert (payment.status, payment.refunded) == (PaymentStatus.PARTIALLY_REFUNDED,
                                                  Decimal("10.00"))
    assert refund.credit_note.total == Decimal("10.00")
    assert list(ActionLog.objects.filter(action__startswith="payment.refund").order_by(
        "pk").values_list("action", flat=True)) == ["payment.refund_requested",
                                                    "payment.refunded"]

    _refund(accountant, payment, "15.00", key="r-2")

    payment.refresh_from_db()
    assert (payment.status, payment.refunded) == (PaymentStatus.REFUNDED, Decimal("25.00"))
    assert personal_account(owner.client).balance == Decimal("0.00")
    assert sandbox.__class__.objects.get(pk=sandbox.pk).refunded == Decimal("25.00")


def test_the_same_refund_form_twice_refunds_once(owner_client, owner, method,
                                                 accountant):
    payment = _paid_top_up(owner_client, method)

    _refund(accountant, payment, "10.00", key="same")
    _refund(accountant, payment, "10.00", key="same")

    assert SandboxRefund.objects.count() == 1
    assert personal_account(owner.client).balance == Decimal("15.00")


def test_a_refused_refund_releases_the_hold_and_debits_nothing(owner_client, owner,
                                                               provider, accountant):
    method = PaymentMethodFactory(provider=provider, settings={"refuse_refunds": True})
    payment = _paid_top_up(owner_client, method)

    page = _refund(accountant, payment, "10.00")

    assert "The gateway did not refund" in page.content.decode()
    assert Refund.objects.get().status == Refund.Status.FAILED
    account = personal_account(owner.client)
    assert (account.balance, account.held) == (Decimal("25.00"), Decimal("0"))
    assert ActionLog.objects.filter(action="payment.refund_failed").count() == 1


def test_a_refund_confirmed_later_is_held_until_the_gateway_confirms(
        owner_client, owner, provider, accountant, vps_plan):
    method = PaymentMethodFactory(provider=provider, settings={"refunds_confirm_later": True})
    payment = _paid_top_up(owner_client, method, "30.00")

    page = _refund(accountant, payment, "20.00").content.decode()

    assert "has not confirmed the refund of 20.00 USD yet" in page
    account = personal_account(owner.client)
    assert (account.balance, account.held, account.available.amount) == (
        Decimal("30.00"), Decimal("20.00"), Decimal("10.00"))
    assert "On hold" in owner_client.get("/payments/add-funds/").content.decode()
    order_vps(owner_client, vps_plan, disk="40")  # 20.00: the held money does not pay it
    pay(owner_client)
    assert Order.objects.get().status == OrderStatus.PENDING_PAYMENT

    Refund.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    assert refunds_settle_pending(now=timezone.now()) == 1

    refund = Refund.objects.get()
    assert refund.status == Refund.Status.SUCCEEDED
    account.refresh_from_db()
    assert (account.balance, account.held) == (Decimal("10.00"), Decimal("0"))
    assert ActionLog.objects.filter(action="payment.refund_pending").count() == 1
    assert ActionLog.objects.filter(action="payment.refunded").count() == 1


def test_a_refund_whose_answer_was_lost_is_settled_by_asking_again(
        owner_client, owner, provider, accountant):
    method = PaymentMethodFactory(provider=provider, settings={"refunds_unanswered": True})
    payment = _paid_top_up(owner_client, method)

    _refund(accountant, payment, "25.00")

    refund = Refund.objects.get()
    assert (refund.status, refund.error) == (Refund.Status.PENDING,
                                             "The sandbox did not answer in time.")
    assert personal_account(owner.client).balance == Decimal("25.00")  # held, not debited
    Refund.objects.update(created_at=timezone.now() - timedelta(minutes=10))

    refunds_settle_pending(now=timezone.now())
    refunds_settle_pending(now=timezone.now())  # the job running again changes nothing

    assert Refund.objects.get().status == Refund.Status.SUCCEEDED
    assert SandboxRefund.objects.count() == 1
    assert personal_account(owner.client).balance == Decimal("0.00")
    assert Payment.objects.get().status == PaymentStatus.REFUNDED


def test_money_already_spent_is_not_refunded(owner_client, owner, method, accountant,
                                             vps_plan):
    payment = _paid_top_up(owner_client, method, "25.00")
    order_vps(owner_client, vps_plan, disk="40")
    pay(owner_client)  # 20.00 of the 25.00 spent

    page = _refund(accountant, payment, "10.00").content.decode()

    assert "does not cover the refund" in page
    assert not Refund.objects.exists()
    assert not AccountHold.objects.exists()
    assert personal_account(owner.client).balance == Decimal("5.00")


def test_a_gateway_that_cannot_refund_says_so(owner_client, method, accountant,
                                              monkeypatch):
    payment = _paid_top_up(owner_client, method)
    monkeypatch.setattr(SandboxGateway, "supports_refunds", False)

    page = _refund(accountant, payment, "10.00").content.decode()

    assert "cannot refund" in page
    assert not Refund.objects.exists()


def test_support_staff_cannot_refund(owner_client, method):
    payment = _paid_top_up(owner_client, method)

    response = _refund(StaffFactory(), payment, "10.00")

    assert response.status_code == 403
    assert not Refund.objects.exists()


def test_the_audit_names_a_refund_waiting_longer_than_its_gateway_takes(
        owner_client, provider, accountant):
    method = PaymentMethodFactory(provider=provider, settings={"refunds_confirm_later": True})
    payment = _paid_top_up(owner_client, method)
    _refund(accountant, payment, "5.00")
    assert audit() == []

    Refund.objects.update(created_at=timezone.now() - timedelta(hours=2))

    problems = [str(p) for p in audit()]
    refund = Refund.objects.get()
    assert problems == [f"[refund] refund #{refund.pk} has waited for sandbox since "
                        f"{refund.created_at:%Y-%m-%d %H:%M}, longer than that gateway takes"]
    refunds_settle_pending(now=timezone.now())
    assert audit() == []
    assert Payment.objects.get().invoice.status == InvoiceStatus.PAID

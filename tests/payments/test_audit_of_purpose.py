"""The audit checks purpose, not only balance: a payment that did not do its job makes
``billing_audit`` exit non-zero and name it."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.audit import audit
from billing.ledger import personal_account
from cart.models import Order, OrderStatus
from payments import purposes
from payments.models import Payment, PaymentOutcome, PaymentStatus, SavedPaymentMethod
from tests.cart.helpers import order_vps
from tests.factories.billing import top_up

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pending_order(owner_client, vps_plan):
    order_vps(owner_client, vps_plan, disk="40")
    owner_client.post("/cart/checkout/", {"pay_with": "balance", "idempotency_key": "first"})
    return Order.objects.get()


@pytest.fixture
def saved_card(owner, sandbox_method):
    return SavedPaymentMethod.objects.create(
        client=owner.client, method=sandbox_method, token="sbx_card_audit",
        label="Sandbox card •••• 4242", is_default=True)


def test_a_captured_payment_that_did_not_pay_its_order_fails_the_audit_by_name(
        owner_client, owner, pending_order, saved_card, monkeypatch):
    def broken(payment):
        raise RuntimeError("the order could not be reached")

    monkeypatch.setitem(purposes._HANDLERS, "order", broken)

    owner_client.post(f"/orders/{pending_order.pk}/pay/", {
        "pay_with": f"saved:{saved_card.pk}", "idempotency_key": "k"})

    payment = Payment.objects.get()
    # The capture is recorded whatever went wrong after it: the card was charged.
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.outcome == PaymentOutcome.NONE
    assert personal_account(owner.client).balance == Decimal("20.00")
    assert Order.objects.get().status == OrderStatus.PENDING_PAYMENT
    problems = [str(p) for p in audit()]
    assert problems == [
        f"[payment-purpose] payment #{payment.pk} of 20.0000 USD by {payment.method.name} "
        f"(order, invoice {payment.invoice.number}) was captured but not applied to its "
        "purpose: not applied: the order could not be reached"]
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command("billing_audit", stdout=out, stderr=err)
    assert f"payment #{payment.pk}" in err.getvalue()
    assert "FAIL  captured payments not applied" in out.getvalue()


def test_an_order_marked_paid_without_its_debit_fails_the_audit(owner, pending_order):
    Order.objects.filter(pk=pending_order.pk).update(status=OrderStatus.PAID)

    assert [p.code for p in audit()] == ["order-debit"]


def test_a_sound_history_passes(owner_client, owner, pending_order, saved_card):
    top_up(owner.client, "3.00")
    owner_client.post(f"/orders/{pending_order.pk}/pay/", {
        "pay_with": f"saved:{saved_card.pk}", "idempotency_key": "k", "use_balance": "1"})

    assert Order.objects.get().status == OrderStatus.PAID
    assert Payment.objects.get().outcome == PaymentOutcome.APPLIED
    out = StringIO()
    call_command("billing_audit", stdout=out)
    assert "The books balance." in out.getvalue()

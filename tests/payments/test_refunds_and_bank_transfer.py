from decimal import Decimal

import pytest
from djmoney.money import Money

from billing.charges import ChargeSpec, charge_post
from billing.ledger import personal_account, system_account
from billing.models import AccountKind, Charge, ChargeKind, InvoiceStatus
from payments.gateways import GatewayResult
from payments.models import Gateway, Payment, PaymentStatus, Refund, SavedPaymentMethod
from payments.processing import (
    PaymentError,
    charge_saved_method,
    payment_apply,
    payment_create,
    staff_confirm_receipt,
)
from payments.refunds import refund_payment
from tests.factories.accounts import ClientFactory, StaffFactory
from tests.factories.payments import PaymentMethodFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("books_balance")]


def usd(amount):
    return Money(Decimal(amount), "USD")


def _paid(amount="100.00", **method_fields):
    client = ClientFactory()
    method = PaymentMethodFactory(provider=client.provider, **method_fields)
    payment, _ = payment_create(client=client, method=method, amount=usd(amount),
                                idempotency_key="pay-1", user=None)
    from payments.processing import payment_start

    payment_start(payment, return_url="http://t/r/", cancel_url="http://t/c/")
    sandbox = payment.__class__.objects.get(pk=payment.pk)
    if method.gateway == Gateway.SANDBOX:
        from payments.models import SandboxTransaction

        SandboxTransaction.objects.filter(reference=sandbox.gateway_reference).update(
            status="succeeded")
    payment_apply(payment_id=payment.pk, source="test",
                  result=GatewayResult(status=PaymentStatus.SUCCEEDED))
    return client, Payment.objects.get(pk=payment.pk)


def test_partial_then_full_refund_through_the_gateway():
    client, payment = _paid("100.00")
    staff = StaffFactory()

    refund_payment(payment=payment, amount=usd("30.00"), reason="Unused month", actor=staff,
                   idempotency_key="r-1")
    refund_payment(payment=payment, amount=usd("30.00"), reason="Unused month", actor=staff,
                   idempotency_key="r-1")  # the same request again: refunds once
    payment.refresh_from_db()
    assert (payment.status, payment.refunded) == (PaymentStatus.PARTIALLY_REFUNDED,
                                                  Decimal("30.00"))
    assert personal_account(client).balance == Decimal("70.00")

    refund_payment(payment=payment, amount=usd("70.00"), reason="Closing", actor=staff,
                   idempotency_key="r-2")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REFUNDED
    assert personal_account(client).balance == 0
    notes = payment.invoice.credit_notes.order_by("number")
    assert [note.total for note in notes] == [Decimal("30.00"), Decimal("70.00")]
    assert Charge.objects.filter(client=client, kind=ChargeKind.REFUND).count() == 2


@pytest.mark.parametrize(
    ("amount", "message"),
    [("100.01", "At most 100.00 USD"), ("0", "greater than zero"), ("-5", "greater than zero")],
)
def test_refund_beyond_the_payment_is_refused(amount, message):
    client, payment = _paid("100.00")

    with pytest.raises(PaymentError, match=message):
        refund_payment(payment=payment, amount=usd(amount), reason="x", actor=StaffFactory(),
                       idempotency_key="r")
    assert not Refund.objects.exists()
    assert personal_account(client).balance == Decimal("100.00")


def test_money_already_spent_is_not_refunded():
    client, payment = _paid("100.00")
    charge_post(client=client, counter=system_account(AccountKind.REVENUE, "USD"),
                spec=ChargeSpec(ChargeKind.ORDER, "VPS", usd("80.00"), idempotency_key="c"))

    with pytest.raises(PaymentError, match="does not cover"):
        refund_payment(payment=payment, amount=usd("50.00"), reason="x", actor=StaffFactory(),
                       idempotency_key="r")

    assert personal_account(client).balance == Decimal("20.00")
    assert Payment.objects.get(pk=payment.pk).refunded == 0


def test_a_refund_the_gateway_refuses_is_reversed():
    client, payment = _paid("100.00", settings={"refuse_refunds": True})

    with pytest.raises(PaymentError, match="sandbox refuses refunds"):
        refund_payment(payment=payment, amount=usd("40.00"), reason="x", actor=StaffFactory(),
                       idempotency_key="r")

    assert Refund.objects.get().status == Refund.Status.FAILED
    assert personal_account(client).balance == Decimal("100.00")
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED


def test_bank_transfer_waits_for_staff_to_confirm_receipt(owner_client, owner, provider):
    method = PaymentMethodFactory(provider=provider, gateway=Gateway.BANK_TRANSFER,
                                  company__bank_details="IBAN DE89 3704 0044 0532 0130 00")
    from tests.payments.helpers import start_top_up

    response = start_top_up(owner_client, method, "75.00")
    payment = Payment.objects.get()
    invoice_page = owner_client.get(response["Location"]).content.decode()
    assert response["Location"] == f"/finances/invoices/{payment.invoice_id}/"
    assert "IBAN DE89 3704 0044 0532 0130 00" in invoice_page
    assert payment.status == PaymentStatus.PENDING

    staff_confirm_receipt(payment=payment, actor=StaffFactory())

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.invoice.status == InvoiceStatus.PAID
    assert personal_account(owner.client).balance == Decimal("75.00")
    with pytest.raises(PaymentError):
        staff_confirm_receipt(payment=payment, actor=StaffFactory())


def test_fee_is_paid_on_top_and_kept_by_the_provider():
    client, payment = _paid("100.00", fee_percent=Decimal("2.5"), fee_fixed=Decimal("0.30"))

    assert payment.fee == Decimal("2.80")
    assert personal_account(client).balance == Decimal("100.00")
    fees = system_account(AccountKind.FEES, "USD", company=payment.method.company)
    assert sum(e.amount for e in fees.entries.all()) == Decimal("2.80")


def test_saved_card_is_charged_without_the_client_and_only_once():
    client = ClientFactory()
    method = PaymentMethodFactory(provider=client.provider)
    saved = SavedPaymentMethod.objects.create(client=client, method=method, token="sbx_card_1",
                                              label="Sandbox card •••• 4242", is_default=True)

    first = charge_saved_method(saved=saved, amount=usd("25.00"), idempotency_key="renew-42")
    again = charge_saved_method(saved=saved, amount=usd("25.00"), idempotency_key="renew-42")

    assert first.pk == again.pk
    assert first.status == PaymentStatus.SUCCEEDED
    assert personal_account(client).balance == Decimal("25.00")


def test_a_declining_saved_card_fails_and_credits_nothing():
    client = ClientFactory()
    method = PaymentMethodFactory(provider=client.provider)
    saved = SavedPaymentMethod.objects.create(client=client, method=method,
                                              token="sbx_card_declines", label="Declining card")

    payment = charge_saved_method(saved=saved, amount=usd("25.00"), idempotency_key="k")

    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_reason == "Card declined"
    assert personal_account(client).balance == 0

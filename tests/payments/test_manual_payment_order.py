"""A payment received outside a gateway, recorded by staff against an order's invoice."""

from datetime import date
from decimal import Decimal

import pytest
from djmoney.money import Money

from billing.ledger import personal_account
from billing.models import InvoiceStatus
from cart.models import Order, OrderStatus
from payments.manual import manual_payment_record
from payments.models import Gateway, Payment, PaymentStatus
from payments.processing import PaymentError, payment_cancel
from tests.cart.helpers import order_vps, pay
from tests.factories.accounts import StaffFactory
from tests.factories.payments import PaymentMethodFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("books_balance")]

TODAY = date(2026, 11, 27)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def order_bank(provider, company):
    return PaymentMethodFactory(company=company, currency=provider.currency,
                                gateway=Gateway.BANK_TRANSFER, name="Bank wire",
                                minimum=Decimal("1.00"), for_direct_payment=True)


def test_a_wire_against_an_order_invoice_pays_the_order(owner_client, owner, vps_plan,
                                                         order_bank):
    order_vps(owner_client, vps_plan, disk="40")  # 20.00 a month
    pay(owner_client, pay_with=f"method:{order_bank.pk}")
    order = Order.objects.get()
    transfer = Payment.objects.get()
    assert (order.status, transfer.status) == (OrderStatus.PENDING_PAYMENT,
                                               PaymentStatus.PENDING)
    arguments = {"client": owner.client, "method": order_bank, "amount": usd("20.00"),
                 "received_on": TODAY, "invoice": order.invoice, "actor": StaffFactory(),
                 "today": TODAY}

    # The client's own transfer is under way: staff confirm that one, not a second.
    with pytest.raises(PaymentError, match=f"payment #{transfer.pk} under way"):
        manual_payment_record(reference="WIRE-ORDER", **arguments)

    payment_cancel(payment=transfer, actor=None, reason="The client wired it instead.")
    payment, created = manual_payment_record(reference="WIRE-ORDER", **arguments)

    order.refresh_from_db()
    assert created
    assert order.status == OrderStatus.PAID
    assert order.invoice.status == InvoiceStatus.PAID
    assert payment.outcome == "applied"
    assert personal_account(owner.client).balance == 0  # credited, then the order debited

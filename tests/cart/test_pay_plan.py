"""The one rule of splitting a total between the balance and a method, stated as rows a
person checked."""

from decimal import Decimal

import pytest
from djmoney.money import Money

from cart.order_payments import pay_plan
from payments.models import PaymentMethod


def usd(amount):
    return Money(Decimal(amount), "USD")


CARD = PaymentMethod(name="Card", currency="USD", minimum=Decimal("5.00"),
                     maximum=Decimal("1000"), fee_percent=Decimal("2"), fee_fixed=Decimal("0"))


@pytest.mark.parametrize(
    ("total", "available", "method", "use_balance", "from_balance", "by_method", "fee",
     "surplus"),
    [
        # the balance alone
        ("20.00", "100.00", None, True, "20.00", "0.00", "0.00", "0.00"),
        # the card for all of it, whatever the balance
        ("20.00", "100.00", CARD, False, "0.00", "20.00", "0.40", "0.00"),
        ("20.00", "-30.00", CARD, False, "0.00", "20.00", "0.40", "0.00"),
        # the balance first, the card for the rest
        ("20.00", "13.00", CARD, True, "13.00", "7.00", "0.14", "0.00"),
        # the rest below the card's minimum: the minimum, the surplus stays on the balance
        ("20.00", "18.00", CARD, True, "18.00", "5.00", "0.10", "3.00"),
        # a debt is not "balance first"
        ("20.00", "-5.00", CARD, True, "0.00", "20.00", "0.40", "0.00"),
        # the balance covers it all: nothing by card
        ("20.00", "25.00", CARD, True, "20.00", "0.00", "0.00", "0.00"),
    ],
)
def test_pay_plan(total, available, method, use_balance, from_balance, by_method, fee,
                  surplus):
    plan = pay_plan(total=usd(total), available=usd(available), method=method,
                    use_balance=use_balance)

    assert (plan.from_balance, plan.by_method, plan.fee, plan.surplus) == (
        usd(from_balance), usd(by_method), usd(fee), usd(surplus))
    assert plan.charged == plan.by_method + plan.fee

"""The one rule of splitting a total between the balance and a method, stated as rows a
person checked."""

from decimal import Decimal

import pytest
from djmoney.money import Money

from cart.order_payments import pay_plan, plan_refusal
from payments.models import PaymentMethod


def usd(amount):
    return Money(Decimal(amount), "USD")


CARD = PaymentMethod(name="Card", gateway="sandbox", currency="USD", minimum=Decimal("5.00"),
                     maximum=Decimal("1000"), fee_percent=Decimal("2"), fee_fixed=Decimal("0"))
BANK = PaymentMethod(name="Bank", gateway="bank_transfer", currency="USD",
                     minimum=Decimal("5.00"), maximum=Decimal("1000"), fee_percent=Decimal("0"),
                     fee_fixed=Decimal("0"))


@pytest.mark.parametrize(
    ("total", "available", "method", "use_balance", "from_balance", "by_method", "fee",
     "refusal"),
    [
        # the balance alone
        ("20.00", "100.00", None, True, "20.00", "0.00", "0.00", ""),
        # the card for all of it, whatever the balance
        ("20.00", "100.00", CARD, False, "0.00", "20.00", "0.40", ""),
        ("20.00", "-30.00", CARD, False, "0.00", "20.00", "0.40", ""),
        # the balance first, the card for the rest
        ("20.00", "13.00", CARD, True, "13.00", "7.00", "0.14", ""),
        # the rest below the card's minimum: the minimum, the surplus stays on the balance
        ("20.00", "18.00", CARD, True, "18.00", "5.00", "0.10", ""),
        # a bank transfer pays the invoice's own figure: below its minimum it cannot
        ("20.00", "18.00", BANK, True, "18.00", "2.00", "0.00", "smallest payment by Bank"),
        # above the card's maximum: only with the balance first
        ("1200.00", "0.00", CARD, False, "0.00", "1200.00", "24.00", "largest payment by Card"),
        ("1200.00", "300.00", CARD, True, "300.00", "900.00", "18.00", ""),
        # a debt is not "balance first"
        ("20.00", "-5.00", CARD, True, "0.00", "20.00", "0.40", ""),
        # the balance covers it all: nothing by card
        ("20.00", "25.00", CARD, True, "20.00", "0.00", "0.00", ""),
    ],
)
def test_pay_plan(total, available, method, use_balance, from_balance, by_method, fee,
                  refusal):
    plan = pay_plan(total=usd(total), available=usd(available), method=method,
                    use_balance=use_balance)

    assert (plan.from_balance, plan.by_method, plan.fee) == (
        usd(from_balance), usd(by_method), usd(fee))
    assert plan.charged == plan.by_method + plan.fee
    assert refusal in plan_refusal(plan, method)
    assert bool(refusal) == bool(plan_refusal(plan, method))


def test_the_summary_says_where_the_surplus_goes():
    from cart.forms import plan_summary

    plan = pay_plan(total=usd("3.00"), available=usd("0"), method=CARD, use_balance=False)

    assert plan_summary(plan, "Card") == ("5.00 USD by Card (+ 0.10 USD fee). 2.00 USD of it "
                                          "stays on your balance (the smallest payment by "
                                          "Card).")

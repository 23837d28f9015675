"""One computation of an order's tax that its invoice, its debit and its credit notes all
read: the charging lines are one invoice (the company's rounding), each crediting line a
credit note of its own; a mixed cart pays in both rounding modes."""

from decimal import Decimal

import pytest
from djmoney.money import Money
from hypothesis import given
from hypothesis import strategies as st

from billing.calculators import LineInput, document_totals
from billing.ledger import personal_account
from billing.models import CreditNote, Invoice, TaxRate
from cart.models import Order, OrderStatus
from cart.pricing import order_taxes
from core.money import round_money
from services.operations import operation_run
from tests.cart.helpers import order_vps, pay
from tests.factories.billing import top_up


def usd(value):
    return Money(Decimal(value), "USD")


@pytest.mark.parametrize(("nets", "rounding", "taxes"), [
    # 10.03 x 19 % = 1.9057: the invoice of that line alone says 1.91, in both modes; the
    # credit's own note says -0.6327 -> -0.63.
    (["10.03", "-3.33"], "document", ["1.91", "-0.63"]),
    (["10.03", "-3.33"], "line", ["1.91", "-0.63"]),
    # per document: 0.0095 + 0.0095 = 0.019 -> 0.02 on the invoice, spread one cent each...
    (["0.05", "0.05"], "document", ["0.01", "0.01"]),
    # ...per line each 0.0095 rounds to 0.01 as well; three lines show the difference:
    (["0.05", "0.05", "0.05"], "line", ["0.01", "0.01", "0.01"]),
    (["0.05", "0.05", "0.05"], "document", ["0.01", "0.01", "0.01"]),
    (["0.03", "0.03", "0.03"], "line", ["0.01", "0.01", "0.01"]),
    (["0.03", "0.03", "0.03"], "document", ["0.01", "0.01", "0.00"]),
    (["0.00", "-20.00"], "document", ["0.00", "-3.80"]),
])
def test_order_taxes(nets, rounding, taxes):
    _, computed = order_taxes([usd(n) for n in nets], currency="USD", rate=Decimal("0.19"),
                              rounding=rounding)

    assert computed == [usd(t) for t in taxes]


amounts = st.decimals(min_value=Decimal("-500"), max_value=Decimal("500"), places=2)


@given(nets=st.lists(amounts, min_size=1, max_size=8),
       rate=st.sampled_from([Decimal("0"), Decimal("0.07"), Decimal("0.19"), Decimal("0.2"),
                             Decimal("0.255")]),
       rounding=st.sampled_from(["line", "document"]))
def test_what_the_order_says_is_what_its_documents_compute(nets, rate, rounding):
    money = [usd(n) for n in nets]
    _, taxes = order_taxes(money, currency="USD", rate=rate, rounding=rounding)

    charged = [i for i, net in enumerate(money) if net.amount > 0]
    invoice = document_totals([LineInput("", money[i]) for i in charged], currency="USD",
                              tax_rate=rate, rounding=rounding)
    assert [taxes[i] for i in charged] == [line.tax for line in invoice.lines]
    for index, net in enumerate(money):
        if net.amount < 0:
            assert taxes[index] == round_money(net * rate)  # its own credit note
        if net.amount == 0:
            assert taxes[index].amount == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("books_balance")
@pytest.mark.parametrize("rounding", ["line", "document"])
def test_a_mixed_cart_pays_in_both_rounding_modes(owner_client, owner, vps_plan, company,
                                                  rounding):
    """A downgrade credit and a new server in one order, taxed at 19 %: the order, its
    invoice, its debit and its credit note agree to the cent."""
    company.tax_rounding = rounding
    company.save()
    TaxRate.objects.create(company=company, country="", rate=Decimal("0.19"))
    vps_plan.downgrade_credit = True
    vps_plan.save()
    top_up(owner.client, "200.00")
    order_vps(owner_client, vps_plan, disk="60", hostname="big.example.com")  # 30.00 net
    pay(owner_client)
    service = Order.objects.get().items.get().service
    operation_run(service.operations.get().pk)  # the simulated module activates it
    owner_client.post(f"/cart/services/{service.pk}/change/", {
        "plan": vps_plan.pk, f"addon_{vps_plan.disk.pk}": "20", "go_to_cart": "1"})
    order_vps(owner_client, vps_plan, disk="30")  # 15.00 net
    balance = personal_account(owner.client).balance

    response = pay(owner_client)

    order = Order.objects.latest("pk")
    assert response["Location"] == f"/orders/{order.pk}/", response
    assert order.status == OrderStatus.PAID
    charged = [i for i in order.items.all() if i.gross > 0]
    credited = [i for i in order.items.all() if i.gross < 0]
    invoice = Invoice.objects.get(pk=order.invoice_id)
    assert invoice.total == sum(i.gross for i in charged)
    assert [line.tax for line in invoice.lines.all()] == [i.tax for i in charged]
    note = CreditNote.objects.get(transaction__isnull=False)
    assert (note.tax_total, note.total) == (-credited[0].tax, -credited[0].gross)
    assert personal_account(owner.client).balance == balance - order.total


@pytest.mark.django_db
@pytest.mark.usefixtures("books_balance")
def test_a_downgrade_gives_back_tax_at_the_rate_it_was_charged(owner_client, owner, vps_plan,
                                                               company):
    """The rate changed since the period was invoiced: the credit note gives back what
    was charged (19 %), not today's rate (25 %)."""
    company.tax_rounding = "line"
    company.save()
    rate = TaxRate.objects.create(company=company, country="", rate=Decimal("0.19"))
    vps_plan.downgrade_credit = True
    vps_plan.save()
    top_up(owner.client, "200.00")
    order_vps(owner_client, vps_plan, disk="60", hostname="big.example.com")
    pay(owner_client)
    service = Order.objects.get().items.get().service
    operation_run(service.operations.get().pk)
    rate.rate = Decimal("0.25")
    rate.save()

    owner_client.post(f"/cart/services/{service.pk}/change/", {
        "plan": vps_plan.pk, f"addon_{vps_plan.disk.pk}": "20", "go_to_cart": "1"})
    pay(owner_client)

    credit = Order.objects.latest("pk").items.get()
    assert credit.tax == round_money(Money(credit.net, "USD") * Decimal("0.19")).amount
    note = CreditNote.objects.get()
    assert note.tax_rate == Decimal("0.19")
    assert note.tax_total == -credit.tax

from decimal import Decimal

import pytest
from djmoney.money import Money

from billing.audit import audit
from billing.charges import ChargeSpec, charge_post
from billing.corrections import balance_adjust, transaction_reverse
from billing.ledger import (
    InsufficientFunds,
    LedgerError,
    Leg,
    ledger_post,
    personal_account,
    system_account,
)
from billing.models import AccountKind, Charge, ChargeKind, Entry, Transaction, TransactionKind
from tests.factories.accounts import ClientFactory, StaffFactory
from tests.factories.billing import set_credit_limit, top_up

pytestmark = pytest.mark.django_db


def usd(amount):
    return Money(Decimal(amount), "USD")


def _spend(client, amount, key):
    revenue = system_account(AccountKind.REVENUE, "USD")
    return charge_post(client=client, counter=revenue, spec=ChargeSpec(
        ChargeKind.MANUAL, "test charge", usd(amount), idempotency_key=key))


def test_top_up_and_charge_move_the_balance_and_keep_the_books():
    client = ClientFactory()

    top_up(client, "100.00")
    _spend(client, "30.50", "charge-1")

    account = personal_account(client)
    assert account.balance == Decimal("69.50")
    assert Charge.objects.get(client=client).amount == Decimal("30.50")
    assert audit() == []


def test_the_same_idempotency_key_moves_money_once():
    client = ClientFactory()
    top_up(client, "10.00", key="k-1")
    top_up(client, "10.00", key="k-1")
    first, created_first = _spend(client, "4.00", "same-charge")
    second, created_second = _spend(client, "4.00", "same-charge")

    assert personal_account(client).balance == Decimal("6.00")
    assert (first.pk, created_first, created_second) == (second.pk, True, False)
    assert Charge.objects.filter(client=client).count() == 1


def test_a_debit_beyond_balance_and_credit_limit_is_refused_and_moves_nothing():
    client = ClientFactory()
    top_up(client, "10.00")
    set_credit_limit(client, "5.00")

    _spend(client, "15.00", "to-the-limit")
    with pytest.raises(InsufficientFunds, match=r"0\.01 USD needed"):
        _spend(client, "0.01", "one-cent-too-far")

    assert personal_account(client).balance == Decimal("-5.00")
    assert not Transaction.objects.filter(idempotency_key="one-cent-too-far").exists()


@pytest.mark.parametrize(
    ("legs", "message"),
    [
        ([("client", "10.00"), ("revenue", "-9.99")], "do not balance"),
        ([("client", "10.00")], "two or more"),
        ([("client", "10.001"), ("revenue", "-10.001")], "decimal places"),
        ([("client", "10.00"), ("revenue-eur", "-10.00")], "is in EUR"),
    ],
)
def test_bad_postings_are_refused(legs, message):
    client = ClientFactory()
    accounts = {"client": personal_account(client),
                "revenue": system_account(AccountKind.REVENUE, "USD"),
                "revenue-eur": system_account(AccountKind.REVENUE, "EUR")}

    with pytest.raises(LedgerError, match=message):
        ledger_post(kind=TransactionKind.ADJUSTMENT, description="bad",
                    idempotency_key="bad", client=client,
                    legs=[Leg(accounts[name], usd(amount)) for name, amount in legs])
    assert not Entry.objects.exists()


def test_reversal_mirrors_a_charge_once_and_shows_as_a_credit():
    client = ClientFactory()
    top_up(client, "20.00")
    charge, _ = _spend(client, "8.00", "to-reverse")

    reversal, created = transaction_reverse(original=charge, reason="Billed by mistake")
    again, created_again = transaction_reverse(original=charge, reason="twice")

    assert (created, created_again, reversal.pk) == (True, False, again.pk)
    assert personal_account(client).balance == Decimal("20.00")
    assert reversal.reverses == charge
    assert audit() == []


def test_reversing_a_top_up_is_an_expense_of_the_client():
    client = ClientFactory()
    payment = top_up(client, "20.00")

    transaction_reverse(original=payment, reason="Chargeback")

    assert personal_account(client).balance == Decimal("0.00")
    assert Charge.objects.get(client=client).kind == ChargeKind.REVERSAL
    assert audit() == []


def test_staff_adjustment_needs_a_reason_and_is_logged():
    client = ClientFactory()
    staff = StaffFactory()

    with pytest.raises(LedgerError, match="reason"):
        balance_adjust(client=client, amount=usd("5.00"), reason=" ", actor=staff,
                       idempotency_key="adj-0")
    balance_adjust(client=client, amount=usd("5.00"), reason="Goodwill", actor=staff,
                   idempotency_key="adj-1")
    balance_adjust(client=client, amount=usd("-2.00"), reason="Correction", actor=staff,
                   idempotency_key="adj-2")

    assert personal_account(client).balance == Decimal("3.00")
    assert client.action_log.filter(action="balance.adjusted").count() == 2
    assert Charge.objects.get(client=client).kind == ChargeKind.MANUAL
    assert audit() == []

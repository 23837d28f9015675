"""Helpers that put real money movements in place through the ledger's own functions."""

from decimal import Decimal

import factory
from djmoney.money import Money
from factory.django import DjangoModelFactory

from billing.ledger import account_credit, personal_account, system_account
from billing.models import AccountKind, TaxRate, TransactionKind

_counter = iter(range(1, 10**9))


def top_up(client, amount, *, key=None):
    """Credit the client's personal account as a payment would (from gateway clearing)."""
    money = amount if isinstance(amount, Money) else Money(Decimal(amount), client.currency)
    clearing = system_account(AccountKind.GATEWAY_CLEARING, client.currency, key="test")
    record, _ = account_credit(
        client=client, amount=money, counter=clearing, kind=TransactionKind.TOPUP,
        description="Test top-up", idempotency_key=key or f"test-topup-{next(_counter)}")
    return record


def set_credit_limit(client, limit):
    account = personal_account(client)
    account.credit_limit = Decimal(limit)
    account.save(update_fields=["credit_limit"])
    return account


class TaxRateFactory(DjangoModelFactory):
    class Meta:
        model = TaxRate

    company = factory.SubFactory("tests.factories.accounts.CompanyFactory")
    country = ""
    rate = Decimal("0.2000")

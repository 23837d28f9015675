"""Fifty clients of one balance at once: it never goes below the credit limit."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from djmoney.money import Money

from billing.audit import audit
from billing.charges import ChargeSpec, charge_post
from billing.ledger import InsufficientFunds, personal_account, system_account
from billing.models import AccountKind, Charge, ChargeKind
from tests.factories.accounts import ClientFactory
from tests.factories.billing import set_credit_limit, top_up

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_fifty_concurrent_debits_never_overdraw():
    client = ClientFactory()
    top_up(client, "100.00")
    set_credit_limit(client, "20.00")
    revenue = system_account(AccountKind.REVENUE, "USD")
    barrier = threading.Barrier(50)
    outcomes: list[str] = []

    def spend(index: int) -> None:
        try:
            barrier.wait()
            charge_post(client=client, counter=revenue, spec=ChargeSpec(
                ChargeKind.MANUAL, f"spend {index}", Money("7.00", "USD"),
                idempotency_key=f"spend-{index}"))
            outcomes.append("ok")
        except InsufficientFunds:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    account = personal_account(client)
    assert outcomes.count("ok") == 17  # 17 x 7.00 = 119.00 <= 100.00 + 20.00 < 126.00
    assert outcomes.count("refused") == 33
    assert account.balance == Decimal("-19.00")
    assert Charge.objects.filter(client=client).count() == 17
    assert audit() == []

"""Random sequences of money movements never break an invariant of the books."""

from decimal import Decimal

import pytest
from djmoney.money import Money
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.audit import audit
from billing.charges import ChargeSpec, charge_post
from billing.corrections import balance_adjust, transaction_reverse
from billing.ledger import InsufficientFunds, personal_account, system_account
from billing.models import AccountKind, ChargeKind, Transaction
from tests.factories.accounts import ClientFactory, StaffFactory
from tests.factories.billing import set_credit_limit, top_up

pytestmark = pytest.mark.django_db

cents = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c) / 100)
operation = st.one_of(
    st.tuples(st.just("top_up"), cents),
    st.tuples(st.just("charge"), cents),
    st.tuples(st.just("adjust"), st.integers(-20_000, 20_000).filter(bool)
              .map(lambda c: Decimal(c) / 100)),
    st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=50)),
    st.tuples(st.just("replay"), st.integers(min_value=0, max_value=50)),
)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=25),
       limit=st.integers(min_value=0, max_value=10_000).map(lambda c: Decimal(c) / 100))
def test_random_sequences_keep_every_invariant(operations, limit):
    client = ClientFactory()
    staff = StaffFactory()
    set_credit_limit(client, limit)
    revenue = system_account(AccountKind.REVENUE, "USD")
    posted: list[Transaction] = []
    expected = Decimal(0)
    keys: list[str] = []

    for step, (kind, value) in enumerate(operations):
        key = f"{client.pk}-{step}"
        if kind == "top_up":
            posted.append(top_up(client, value, key=key))
            expected += value
            keys.append(key)
        elif kind == "charge":
            try:
                record, _ = charge_post(client=client, counter=revenue, spec=ChargeSpec(
                    ChargeKind.MANUAL, "charge", Money(value, "USD"), idempotency_key=key))
            except InsufficientFunds:
                assert expected - value < -limit
                continue
            posted.append(record)
            expected -= value
            assert personal_account(client).balance >= -limit
        elif kind == "adjust":
            posted.append(balance_adjust(client=client, amount=Money(value, "USD"),
                                         reason="test", actor=staff, idempotency_key=key))
            expected += value
        elif kind == "reverse" and posted:
            original = posted[value % len(posted)]
            if original.kind == "reversal" or hasattr(original, "reversed_by"):
                continue
            reversal, created = transaction_reverse(original=original, reason="test")
            if created:
                client_leg = original.entries.get(account__kind="client")
                expected -= client_leg.amount
                posted.append(reversal)
        elif kind == "replay" and keys:
            top_up(client, Decimal("999.99"), key=keys[value % len(keys)])  # moves nothing

        assert personal_account(client).balance == expected
    assert audit() == []

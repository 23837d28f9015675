"""Property-based tests of the one pricing function."""

from decimal import Decimal

import pytest
from django.utils import timezone
from djmoney.money import Money
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart.models import ItemKind, PromoCode
from cart.pricing import ItemSpec, quote
from services.models import AddonKind
from services.periods import BillingPeriod
from services.pricing import AddonValue
from tests.factories.accounts import ClientFactory, ClientGroupFactory, CompanyFactory
from tests.factories.billing import TaxRateFactory
from tests.factories.cart import GroupDiscountFactory, PromoCodeFactory
from tests.factories.services import AddonFactory, AddonPriceFactory, PlanFactory

pytestmark = pytest.mark.django_db

cents = st.integers(min_value=0, max_value=1_000_000).map(lambda c: Decimal(c) / 100)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan_price=cents, unit_price=cents, steps=st.integers(min_value=0, max_value=50),
       group_percent=st.integers(min_value=0, max_value=100),
       promo=st.one_of(st.none(), st.tuples(st.sampled_from(["percent", "fixed"]),
                                            st.integers(min_value=1, max_value=100))),
       tax_rate=st.sampled_from(["0", "0.07", "0.19", "0.2", "0.255"]))
def test_a_quote_adds_up_and_never_goes_below_zero(plan_price, unit_price, steps,
                                                   group_percent, promo, tax_rate):
    client = ClientFactory()
    company = CompanyFactory()
    company.providers.add(client.provider)
    TaxRateFactory(company=company, rate=Decimal(tax_rate))
    plan = PlanFactory(provider=client.provider, monthly=str(plan_price))
    disk = AddonFactory(plan=plan, kind=AddonKind.QUANTITY, included=Decimal(10),
                        minimum=Decimal(10), maximum=Decimal(1000), step=Decimal(10))
    AddonPriceFactory(addon=disk, period=BillingPeriod.MONTH, price=Money(unit_price, "USD"))
    if group_percent:
        group = ClientGroupFactory()
        client.groups.add(group)
        GroupDiscountFactory(group=group, percent=Decimal(group_percent))
    code = None
    if promo is not None:
        code = PromoCodeFactory(kind=promo[0], value=Decimal(promo[1]))

    priced = quote(client=client, today=timezone.localdate(), when=timezone.now(), promo=code,
                   specs=[ItemSpec(
        ItemKind.NEW, plan=plan, period=BillingPeriod.MONTH,
        values={disk.pk: AddonValue(Decimal(10 + 10 * steps))})])

    (item,) = priced.items
    expected_base = plan_price + unit_price * 10 * steps
    assert item.base.amount == Money(expected_base, "USD").amount.quantize(Decimal("0.01"))
    assert Decimal(0) <= item.discount.amount <= item.base.amount
    assert priced.net.amount >= 0
    assert priced.total == priced.net + priced.tax
    assert priced.tax.amount == (priced.net.amount * Decimal(tax_rate)).quantize(
        Decimal("0.01"), rounding="ROUND_HALF_UP")
    if group_percent == 100 or (promo and promo[0] == PromoCode.Kind.PERCENT
                                and promo[1] == 100):
        assert priced.net.amount == 0

from decimal import Decimal

import pytest
from djmoney.money import Money

from services.models import AddonKind
from services.periods import BillingPeriod
from services.pricing import AddonValue, PriceNotAvailable, addon_amount, price_lines, renewal_cost
from tests.factories.services import (
    AddonFactory,
    AddonPriceFactory,
    EnumerationItemFactory,
    PlanFactory,
    PlanPriceFactory,
    ServiceAddonFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "unit_price", "value", "expected"),
    [
        (AddonKind.QUANTITY, "0.50", AddonValue(Decimal(10)), "0.00"),  # all included
        (AddonKind.QUANTITY, "0.50", AddonValue(Decimal(30)), "10.00"),  # 20 above included
        (AddonKind.QUANTITY, "0.333", AddonValue(Decimal(11)), "0.33"),  # rounded once
        (AddonKind.QUANTITY, "0.335", AddonValue(Decimal(11)), "0.34"),  # half up
        (AddonKind.TOGGLE, "2.00", AddonValue(Decimal(1)), "2.00"),
        (AddonKind.TOGGLE, "2.00", AddonValue(Decimal(0)), "0.00"),
    ],
)
def test_addon_amount(kind, unit_price, value, expected):
    addon = AddonFactory(kind=kind, included=Decimal(10))
    AddonPriceFactory(addon=addon, price=Money(unit_price, "USD"))

    assert addon_amount(addon, BillingPeriod.MONTH, value) == Money(expected, "USD")


def test_choice_addon_costs_the_price_of_the_chosen_item():
    windows, linux = EnumerationItemFactory(), EnumerationItemFactory()
    addon = AddonFactory(kind=AddonKind.CHOICE, enumeration=windows.enumeration)
    AddonPriceFactory(addon=addon, choice=windows, price=Money("15.00", "USD"))

    assert addon_amount(addon, BillingPeriod.MONTH, AddonValue(choice_id=windows.pk)) == \
        Money("15.00", "USD")
    assert addon_amount(addon, BillingPeriod.MONTH, AddonValue(choice_id=linux.pk)) == \
        Money("0.00", "USD")


def test_a_period_without_a_price_is_refused():
    addon = AddonFactory()
    AddonPriceFactory(addon=addon, period=BillingPeriod.MONTH)

    with pytest.raises(PriceNotAvailable):
        addon_amount(addon, BillingPeriod.YEAR, AddonValue(Decimal(50)))
    with pytest.raises(PriceNotAvailable):
        price_lines(addon.plan, BillingPeriod.YEAR, {}, include_setup=False)


def test_price_lines_with_setup_fee_and_renewal_price():
    plan = PlanFactory(monthly=False)
    PlanPriceFactory(plan=plan, period=BillingPeriod.YEAR, price=Money("100.00", "USD"),
                     setup_fee=Money("5.00", "USD"), renewal_price=Money("120.00", "USD"))

    first = price_lines(plan, BillingPeriod.YEAR, {}, include_setup=True)
    renew = price_lines(plan, BillingPeriod.YEAR, {}, include_setup=False, renewal=True)

    assert [(line.kind, line.amount) for line in first] == [
        ("plan", Money("100.00", "USD")), ("setup", Money("5.00", "USD"))]
    assert [(line.kind, line.amount) for line in renew] == [("plan", Money("120.00", "USD"))]


def test_renewal_cost_adds_the_service_addons():
    service = ServiceFactory()
    value = ServiceAddonFactory(service=service, quantity=Decimal(40))
    AddonPriceFactory(addon=value.addon, price=Money("0.25", "USD"))

    assert renewal_cost(service) == Money("17.50", "USD")  # 10.00 + 30 GB x 0.25

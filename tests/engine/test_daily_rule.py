"""The set-based charge and the stated rule (billing.calculators.daily_amount) agree."""

import calendar
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from djmoney.money import Money
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.calculators import daily_amount
from billing.daily import charge_daily_chunk, day_amount
from billing.models import Charge, TaxRate
from core.days import start_of
from services.models import AddonKind, PlanPrice, ServiceAddon, ServiceStatus
from tests.factories.accounts import ClientFactory, ClientGroupFactory, CompanyFactory
from tests.factories.billing import top_up
from tests.factories.cart import GroupDiscountFactory
from tests.factories.services import (
    AddonFactory,
    AddonPriceFactory,
    DailyPlanFactory,
    ServiceFactory,
)

cents = st.integers(min_value=1, max_value=10_000_000)


@given(month_cents=cents, year=st.integers(min_value=2000, max_value=2100),
       month=st.integers(min_value=1, max_value=12))
def test_the_days_of_a_month_add_up_to_the_month_price(month_cents, year, month):
    price = Money(Decimal(month_cents) / 100, "USD")
    days = calendar.monthrange(year, month)[1]

    amounts = [daily_amount(price, "month", date(year, month, d)) for d in range(1, days + 1)]

    assert sum(a.amount for a in amounts) == price.amount
    assert max(a.amount for a in amounts) - min(a.amount for a in amounts) <= Decimal("0.01")


@pytest.mark.django_db
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(period=st.sampled_from(["day", "month"]), plan_cents=cents,
       unit_cents=st.integers(min_value=0, max_value=100_000),
       quantity=st.integers(min_value=0, max_value=40),
       percent=st.integers(min_value=0, max_value=100),
       day=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
       rate=st.sampled_from(["0", "0.07", "0.19", "0.2", "0.255", "0.0001"]),
       starts=st.one_of(st.none(), st.integers(min_value=-48, max_value=48)),
       lasts=st.one_of(st.none(), st.integers(min_value=0, max_value=96)))
def test_sql_and_python_compute_the_same_day(period, plan_cents, unit_cents, quantity, percent,
                                             day, rate, starts, lasts):
    """Including when the group discount begins or ends around the day's start (hours
    from it): the discount rule is one instant test, in SQL and in Python."""
    client = ClientFactory()
    company = CompanyFactory(country="DE")
    company.providers.add(client.provider)
    if Decimal(rate):
        TaxRate.objects.create(company=company, country="", rate=Decimal(rate))
    top_up(client, "1000000.00")
    plan = DailyPlanFactory(provider=client.provider, daily=False)
    PlanPrice.objects.create(plan=plan, period=period,
                             price=Money(Decimal(plan_cents) / 100, "USD"))
    disk = AddonFactory(plan=plan, kind=AddonKind.QUANTITY, included=Decimal(5),
                        minimum=Decimal(0), step=Decimal(1))
    AddonPriceFactory(addon=disk, period=period, price=Money(Decimal(unit_cents) / 1000, "USD"))
    if percent:
        group = ClientGroupFactory()
        client.groups.add(group)
        begins = start_of(day) + timedelta(hours=starts) if starts is not None else None
        ends = (begins or start_of(day)) + timedelta(hours=lasts) if lasts is not None \
            else None
        GroupDiscountFactory(group=group, percent=Decimal(percent), valid_from=begins,
                             valid_until=ends)
    service = ServiceFactory(client=client, plan=plan, billing_period=period,
                             status=ServiceStatus.ACTIVE,
                             activated_at=datetime.combine(day - timedelta(days=1), time(),
                                                           tzinfo=UTC))
    ServiceAddon.objects.create(service=service, addon=disk, quantity=Decimal(quantity))

    charge_daily_chunk(day, client.pk, client.pk)

    charged = Charge.objects.filter(service=service).first()
    expected = day_amount(service, day)
    assert (charged.amount if charged else Decimal(0)) == expected.amount


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["plan", "addon"])
def test_a_missing_price_is_never_a_free_day(missing):
    """With no price for the service's period (its plan's, or one of its addons'), the
    clock charges nothing, not a cheaper day, and reports the service for staff; the
    Python rule refuses it the same way."""
    day = date(2027, 3, 10)
    client = ClientFactory()
    top_up(client, "100.00")
    plan = DailyPlanFactory(provider=client.provider, daily=False)
    if missing != "plan":
        PlanPrice.objects.create(plan=plan, period="month", price=Money("30.00", "USD"))
    disk = AddonFactory(plan=plan, kind=AddonKind.QUANTITY, included=Decimal(0),
                        minimum=Decimal(0), step=Decimal(1))
    if missing != "addon":
        AddonPriceFactory(addon=disk, period="month", price=Money("1.00", "USD"))
    service = ServiceFactory(client=client, plan=plan, billing_period="month",
                             status=ServiceStatus.ACTIVE,
                             activated_at=datetime.combine(day - timedelta(days=1), time(),
                                                           tzinfo=UTC))
    ServiceAddon.objects.create(service=service, addon=disk, quantity=Decimal(5))

    result = charge_daily_chunk(day, client.pk, client.pk)

    assert not Charge.objects.filter(service=service).exists()
    assert result.unpriced == [service.pk]
    assert day_amount(service, day) is None


@pytest.mark.django_db
def test_a_free_choice_and_a_toggle_off_are_priced_not_missing():
    """A choice with no price is free and a toggle that is off costs nothing
    (services.pricing.addon_amount): the daily statement charges such a service, the same
    as the Python rule, and does not report it unpriced."""
    from tests.factories.services import EnumerationFactory, EnumerationItemFactory

    day = date(2027, 3, 10)
    client = ClientFactory()
    top_up(client, "100.00")
    plan = DailyPlanFactory(provider=client.provider, daily=False)
    PlanPrice.objects.create(plan=plan, period="month", price=Money("31.00", "USD"))
    images = EnumerationFactory()
    windows, linux = EnumerationItemFactory(enumeration=images), \
        EnumerationItemFactory(enumeration=images)
    os_choice = AddonFactory(plan=plan, kind=AddonKind.CHOICE, enumeration=images)
    AddonPriceFactory(addon=os_choice, period="month", choice=windows,
                      price=Money("15.50", "USD"))
    backup = AddonFactory(plan=plan, kind=AddonKind.TOGGLE)  # no price at all
    service = ServiceFactory(client=client, plan=plan, billing_period="month",
                             status=ServiceStatus.ACTIVE,
                             activated_at=datetime.combine(day - timedelta(days=1), time(),
                                                           tzinfo=UTC))
    ServiceAddon.objects.create(service=service, addon=os_choice, choice=linux)
    ServiceAddon.objects.create(service=service, addon=backup, quantity=Decimal(0))

    result = charge_daily_chunk(day, client.pk, client.pk)

    assert result.unpriced == []
    charge = Charge.objects.get(service=service)
    assert charge.amount == day_amount(service, day).amount == Decimal("1.00")

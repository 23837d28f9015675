"""The renewal cost a client reads is what the clock and the cart will take."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone
from djmoney.money import Money

from billing.daily import day_amount
from billing.templatetags.billing_tags import renewal_price
from cart.pricing import ItemSpec, quote
from services.models import PlanPrice, ServiceStatus
from tests.factories.accounts import ClientFactory, ClientGroupFactory
from tests.factories.cart import GroupDiscountFactory
from tests.factories.services import DailyPlanFactory, PlanFactory, PlanPriceFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def _client(percent: str):
    client = ClientFactory()
    if Decimal(percent):
        group = ClientGroupFactory()
        client.groups.add(group)
        GroupDiscountFactory(group=group, percent=Decimal(percent))
    return client


@pytest.mark.parametrize(("price", "percent", "shown"), [
    ("1.10", "0", "1.10 USD/day"),
    ("1.10", "10", "0.99 USD/day"),
    ("0.05", "33", "0.03 USD/day"),
])
def test_a_daily_service_shows_the_day_the_clock_charges(price, percent, shown):
    client = _client(percent)
    plan = DailyPlanFactory(provider=client.provider, daily=False)
    PlanPrice.objects.create(plan=plan, period="day", price=Money(price, "USD"))
    service = ServiceFactory(client=client, plan=plan, billing_period="day",
                             status=ServiceStatus.ACTIVE)

    assert renewal_price({}, service) == shown
    assert shown.startswith(f"{day_amount(service, date(2026, 11, 24)).amount} ")


@pytest.mark.parametrize(("percent", "shown"), [("0", "12.00 USD/month"),
                                                 ("15", "10.20 USD/month")])
def test_a_period_service_shows_what_its_renewal_costs(percent, shown):
    client = _client(percent)
    plan = PlanFactory(provider=client.provider)
    plan.prices.all().delete()
    PlanPriceFactory(plan=plan, period="month", price=Money("12.00", "USD"))
    service = ServiceFactory(client=client, plan=plan, billing_period="month",
                             status=ServiceStatus.ACTIVE, expires_on=date(2026, 12, 1))

    renewal = quote(client=client, specs=[ItemSpec("renewal", service=service)],
                    today=date(2026, 11, 24), when=timezone.now()).items[0]

    assert renewal_price({}, service) == shown
    assert shown.startswith(f"{renewal.net.amount} ")

from decimal import Decimal

import factory
from djmoney.money import Money
from factory.django import DjangoModelFactory

from services.models import (
    Addon,
    AddonKind,
    AddonPrice,
    Charging,
    Enumeration,
    EnumerationItem,
    PlanPrice,
    ProductType,
    Service,
    ServiceAddon,
    ServiceStatus,
    ServiceUsage,
    TariffPlan,
    UnitOfMeasure,
)
from services.periods import BillingPeriod


class UnitFactory(DjangoModelFactory):
    class Meta:
        model = UnitOfMeasure
        django_get_or_create = ("symbol",)

    symbol = "GB"
    name = factory.LazyAttribute(lambda o: f"unit {o.symbol}")


class EnumerationFactory(DjangoModelFactory):
    class Meta:
        model = Enumeration

    name = factory.Sequence(lambda n: f"Enumeration {n}")


class EnumerationItemFactory(DjangoModelFactory):
    class Meta:
        model = EnumerationItem

    enumeration = factory.SubFactory(EnumerationFactory)
    code = factory.Sequence(lambda n: f"item-{n}")
    label = factory.Sequence(lambda n: f"Item {n}")


class PlanFactory(DjangoModelFactory):
    """A plan with a monthly price of 10 in its provider's currency."""

    class Meta:
        model = TariffPlan
        skip_postgeneration_save = True

    provider = factory.SubFactory("tests.factories.accounts.ProviderFactory")
    name = factory.Sequence(lambda n: f"Plan {n}")
    product_type = ProductType.VIRTUAL_SERVER
    module = "simulated"
    module_settings = factory.LazyFunction(lambda: {"delay": 0})
    charging = Charging.PERIOD

    @factory.post_generation
    def monthly(plan, create, extracted, **kwargs):
        if create and extracted is not False and plan.charging == Charging.PERIOD:
            PlanPrice.objects.create(plan=plan, period=BillingPeriod.MONTH,
                                     price=Money(extracted or "10.00", plan.currency))


class DailyPlanFactory(PlanFactory):
    """A daily-charged plan priced 1.00 a day."""

    charging = Charging.DAILY

    @factory.post_generation
    def daily(plan, create, extracted, **kwargs):
        if create and extracted is not False:
            PlanPrice.objects.create(plan=plan, period=BillingPeriod.DAY,
                                     price=Money(extracted or "1.00", plan.currency))


class PlanPriceFactory(DjangoModelFactory):
    class Meta:
        model = PlanPrice

    plan = factory.SubFactory(PlanFactory, monthly=False)
    period = BillingPeriod.YEAR
    price = factory.LazyAttribute(lambda o: Money("100.00", o.plan.currency))


class AddonFactory(DjangoModelFactory):
    class Meta:
        model = Addon

    plan = factory.SubFactory(PlanFactory)
    name = factory.Sequence(lambda n: f"Addon {n}")
    code = factory.Sequence(lambda n: f"addon-{n}")
    kind = AddonKind.QUANTITY
    unit = factory.SubFactory(UnitFactory)
    included = Decimal(10)
    minimum = Decimal(10)
    maximum = Decimal(100)
    step = Decimal(10)


class AddonPriceFactory(DjangoModelFactory):
    class Meta:
        model = AddonPrice

    addon = factory.SubFactory(AddonFactory)
    period = BillingPeriod.MONTH
    price = factory.LazyAttribute(lambda o: Money("0.50", o.addon.plan.currency))


class ServiceFactory(DjangoModelFactory):
    """A service in any status (set directly: fixtures may skip the state machine)."""

    class Meta:
        model = Service

    client = factory.SubFactory("tests.factories.accounts.ClientFactory")
    plan = factory.SubFactory(PlanFactory, provider=factory.SelfAttribute("..client.provider"))
    name = factory.Sequence(lambda n: f"service-{n}.example")
    billing_period = BillingPeriod.MONTH
    status = ServiceStatus.ACTIVE


class ServiceAddonFactory(DjangoModelFactory):
    class Meta:
        model = ServiceAddon

    service = factory.SubFactory(ServiceFactory)
    addon = factory.SubFactory(AddonFactory, plan=factory.SelfAttribute("..service.plan"))
    quantity = Decimal(20)


class UsageFactory(DjangoModelFactory):
    class Meta:
        model = ServiceUsage

    service = factory.SubFactory(ServiceFactory)
    addon = factory.SubFactory(AddonFactory, plan=factory.SelfAttribute("..service.plan"),
                               kind=AddonKind.METERED, included=Decimal(100),
                               overage_price=factory.LazyAttribute(
                                   lambda o: Money("0.10", o.plan.currency)))
    quantity = Decimal(150)

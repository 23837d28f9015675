from decimal import Decimal

import pytest
from djmoney.money import Money

from billing.audit import audit
from services.models import AddonKind
from services.periods import BillingPeriod
from tests.factories.accounts import CompanyFactory
from tests.factories.payments import PaymentMethodFactory
from tests.factories.services import AddonFactory, AddonPriceFactory, PlanFactory


@pytest.fixture
def company(provider):
    company = CompanyFactory(invoice_prefix="SHOP-")
    company.providers.add(provider)
    return company


@pytest.fixture
def vps_plan(provider, company):
    """A VPS plan: 10.00 a month, 30.00 a quarter; disk 20-100 GB in steps of 10 with 20
    included at 0.50 per GB a month."""
    plan = PlanFactory(provider=provider, name="VPS S", module_settings={"delay": 0})
    from tests.factories.services import PlanPriceFactory

    PlanPriceFactory(plan=plan, period=BillingPeriod.QUARTER, price=Money("30.00", "USD"))
    disk = AddonFactory(plan=plan, name="Disk", code="disk", kind=AddonKind.QUANTITY,
                        included=Decimal(20), minimum=Decimal(20), maximum=Decimal(100),
                        step=Decimal(10), default_value=Decimal(20))
    AddonPriceFactory(addon=disk, period=BillingPeriod.MONTH, price=Money("0.50", "USD"))
    AddonPriceFactory(addon=disk, period=BillingPeriod.QUARTER, price=Money("1.50", "USD"))
    plan.disk = disk
    return plan


@pytest.fixture
def sandbox_method(provider, company):
    return PaymentMethodFactory(company=company, currency=provider.currency,
                                for_direct_payment=True, minimum=Decimal("1.00"))


@pytest.fixture
def books_balance():
    yield
    assert audit() == []

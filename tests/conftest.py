from decimal import Decimal

import pytest
from django.test import override_settings
from djmoney.money import Money

from services.models import AddonKind
from services.periods import BillingPeriod
from tests.factories.accounts import (
    ClientUserFactory,
    CompanyFactory,
    ProviderFactory,
    StaffFactory,
)
from tests.factories.payments import PaymentMethodFactory
from tests.factories.services import (
    AddonFactory,
    AddonPriceFactory,
    PlanFactory,
    PlanPriceFactory,
)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Tests create many users; hashing their passwords the production way takes seconds."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def provider(db):
    return ProviderFactory(is_default=True)


@pytest.fixture
def owner(db, provider):
    """The owner membership of a client account (owner.user signs in, owner.client is it)."""
    return ClientUserFactory(owner=True, client__provider=provider)


@pytest.fixture
def owner_client(client, owner):
    """Django's test client, signed in as the owner of a client account."""
    client.force_login(owner.user)
    return client


@pytest.fixture
def htmx_client(owner_client):
    owner_client.defaults["HTTP_HX_REQUEST"] = "true"
    return owner_client


@pytest.fixture
def staff_user(db):
    return StaffFactory()


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

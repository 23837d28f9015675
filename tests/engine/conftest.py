from datetime import date

import pytest
from djmoney.money import Money

from accounts.models import Notification
from accounts.notifications import notifications_send
from billing.audit import audit
from services.models import ServiceOperation
from services.operations import operation_run
from tests.factories.accounts import ClientFactory, CompanyFactory, ProviderFactory
from tests.factories.services import DailyPlanFactory, PlanFactory

START = date(2027, 1, 1)


@pytest.fixture
def world(db):
    """A provider with its company, a 1.00/day plan, a 30.00/month daily plan and a
    10.00/month period plan, all on the simulated module with no delay."""
    provider = ProviderFactory(renewal_lead_days=3, expiry_notice_days=7)
    company = CompanyFactory(invoice_prefix="CLK-")
    company.providers.add(provider)
    per_day = DailyPlanFactory(provider=provider, name="Daily 1", grace_days=7)
    per_month = DailyPlanFactory(provider=provider, name="Daily 30/month", daily=False,
                                 grace_days=7)
    from services.models import PlanPrice

    PlanPrice.objects.create(plan=per_month, period="month", price=Money("30.00", "USD"))
    monthly = PlanFactory(provider=provider, name="Monthly 10", grace_days=7)
    return {"provider": provider, "company": company, "per_day": per_day,
            "per_month": per_month, "monthly": monthly,
            "client": lambda **kw: ClientFactory(provider=provider, **kw)}


def complete_operations() -> None:
    """What the workers do between two days: run the provisioning operations and send
    the mails the day wrote."""
    for pk in ServiceOperation.objects.filter(status="pending").values_list("pk", flat=True):
        operation_run(pk)
    notifications_send(list(Notification.objects.filter(sent_at__isnull=True)
                            .values_list("pk", flat=True)))


@pytest.fixture
def books_balance():
    yield
    assert audit() == []

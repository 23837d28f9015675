"""Staff panel: catalog rights, service actions, current operations."""

import pytest

from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from services.models import (
    Operation,
    PlanPrice,
    ServiceOperation,
    ServiceStatus,
    SuspendReason,
)
from services.operations import operation_run
from tests.factories.accounts import AdminFactory, StaffFactory
from tests.factories.services import PlanFactory, ServiceFactory

pytestmark = pytest.mark.django_db
S = ServiceStatus


def _employee(department):
    employee = StaffFactory()
    employee.groups.add(department_sync(name=department,
                                        codenames=DEFAULT_DEPARTMENTS[department]))
    return employee


def test_support_cannot_edit_tariff_prices(client):
    plan = PlanFactory()
    client.force_login(_employee("Technical support"))

    page = client.get(f"/staff/services/tariffplan/{plan.pk}/change/")
    post = client.post(f"/staff/services/tariffplan/{plan.pk}/change/", {"name": "Hacked"})
    index = client.get("/staff/").content.decode()

    assert page.status_code == 403
    assert post.status_code == 403
    assert "/staff/services/tariffplan/" not in index
    assert "/staff/services/service/" in index
    assert PlanPrice.objects.get(plan=plan).price.amount == 10


def test_administrator_edits_a_price(client):
    plan = PlanFactory()
    client.force_login(AdminFactory())
    price = plan.prices.get()

    response = client.post(f"/staff/services/tariffplan/{plan.pk}/change/", {
        "provider": plan.provider_id, "product_type": plan.product_type, "name": plan.name,
        "description": "", "position": 0, "charging": "period", "trial_days": 0,
        "grace_days": 7, "orderable": "on", "client_can_delete": "on", "delete_refund": "none",
        "instruction_manual": "", "module": "simulated", "module_settings": "{}",
        "prices-TOTAL_FORMS": 1, "prices-INITIAL_FORMS": 1, "prices-0-id": price.pk,
        "prices-0-plan": plan.pk, "prices-0-period": "month", "prices-0-price_0": "12.50",
        "prices-0-price_1": "USD", "prices-0-setup_fee_0": "", "prices-0-setup_fee_1": "USD",
        "prices-0-renewal_price_0": "", "prices-0-renewal_price_1": "USD",
        "addons-TOTAL_FORMS": 0, "addons-INITIAL_FORMS": 0,
    })

    assert response.status_code == 302, response.content.decode()[:3000]
    assert str(PlanPrice.objects.get(plan=plan).price.amount) == "12.5000"


def test_a_price_in_another_currency_is_refused(client):
    plan = PlanFactory()
    client.force_login(AdminFactory())
    price = plan.prices.get()

    response = client.post(f"/staff/services/tariffplan/{plan.pk}/change/", {
        "provider": plan.provider_id, "product_type": plan.product_type, "name": plan.name,
        "position": 0, "charging": "period", "trial_days": 0, "grace_days": 7,
        "delete_refund": "none", "module": "simulated", "module_settings": "{}",
        "prices-TOTAL_FORMS": 1, "prices-INITIAL_FORMS": 1, "prices-0-id": price.pk,
        "prices-0-plan": plan.pk, "prices-0-period": "month", "prices-0-price_0": "9.00",
        "prices-0-price_1": "EUR", "prices-0-setup_fee_1": "USD",
        "prices-0-renewal_price_1": "USD", "addons-TOTAL_FORMS": 0, "addons-INITIAL_FORMS": 0,
    })

    assert response.status_code == 200
    assert "Prices of this plan are in USD" in response.content.decode()
    assert PlanPrice.objects.get(plan=plan).price.currency.code == "USD"


@pytest.mark.parametrize(
    ("action", "status", "reason"),
    [
        ("suspend-admin", S.SUSPENDED_BY_ADMIN, SuspendReason.ADMIN),
        ("suspend-abuse", S.SUSPENDED_ABUSE, SuspendReason.ABUSE),
    ],
)
def test_staff_suspends_a_service(client, action, status, reason):
    service = ServiceFactory()
    client.force_login(AdminFactory())

    client.post(f"/staff/services/service/{service.pk}/do/{action}/")
    operation_run(ServiceOperation.objects.get(service=service).pk)

    service.refresh_from_db()
    assert (service.status, service.suspend_reason) == (status, reason)


def test_support_may_not_run_service_actions_without_the_right(client):
    service = ServiceFactory()
    employee = StaffFactory()
    employee.groups.add(department_sync(name="Viewers", codenames=["services.view_service"]))
    client.force_login(employee)

    client.post(f"/staff/services/service/{service.pk}/do/suspend-abuse/")

    service.refresh_from_db()
    assert service.status == S.ACTIVE


def test_current_operations_mark_done_and_retry(client):
    manual = ServiceFactory(status=S.ORDERED, plan=PlanFactory(module="manual"))
    failing = ServiceFactory(status=S.ACTIVE,
                             plan=PlanFactory(module_settings={"delay": 0, "fail": ["reboot"]}))
    from services import actions

    admin = AdminFactory()
    waiting = actions.service_activate(service=manual, actor=admin)
    failed = actions.service_reboot(service=failing, actor=admin)
    operation_run(waiting.pk)
    operation_run(failed.pk)
    client.force_login(admin)

    listing = client.get("/staff/services/serviceoperation/?status__exact=failed")
    client.post("/staff/services/serviceoperation/", {
        "action": "mark_done", "_selected_action": [waiting.pk]})
    client.post("/staff/services/serviceoperation/", {
        "action": "retry", "_selected_action": [failed.pk]})

    assert "Simulated failure of reboot" in listing.content.decode()
    manual.refresh_from_db()
    assert manual.status == S.ACTIVE
    failed.refresh_from_db()
    assert failed.status == ServiceOperation.Status.PENDING
    assert failing.history.filter(reason="Reboot retried").exists()
    assert failed.kind == Operation.REBOOT


def test_accounting_sees_the_clock_s_days_and_promised_payments_support_does_not(client):
    from engine.models import BillingDay

    BillingDay.objects.create(day="2027-01-01", stats={"charged": 3, "amounts": {"USD": "3.00"}})
    client.force_login(_employee("Accounting"))
    days = client.get("/staff/engine/billingday/").content.decode()
    assert "3.00 USD" in days
    assert client.get("/staff/billing/promisedpayment/").status_code == 200

    client.force_login(_employee("Technical support"))
    assert client.get("/staff/engine/billingday/").status_code == 403

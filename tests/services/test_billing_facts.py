"""A service's billing facts change only through staff actions that go through the state
machine and the ledger: a transfer, a free extension (recorded as such), a paid renewal
from the client's balance, a suspension hold, auto-renewal; never by editing the form."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from accounts.models import ActionLog
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from billing.ledger import personal_account
from billing.models import Charge, Invoice, Transaction
from cart.models import CartItem, ItemKind, Order, OrderStatus
from cart.operations import cart_for
from services.models import Service, ServiceHistory
from tests.factories.accounts import AdminFactory, ClientFactory, StaffFactory
from tests.factories.billing import top_up
from tests.factories.services import ServiceFactory
from tests.reauth import sign_in_fresh

pytestmark = pytest.mark.django_db
EXPIRES = date(2027, 1, 31)


@pytest.fixture
def service(owner, vps_plan):
    return ServiceFactory(client=owner.client, plan=vps_plan, expires_on=EXPIRES,
                          anchor_day=31)


@pytest.fixture
def accountant(client):
    employee = StaffFactory(email="books@example.com")
    employee.groups.add(department_sync(name="Accounting",
                                        codenames=DEFAULT_DEPARTMENTS["Accounting"]))
    sign_in_fresh(client, employee)
    return employee


def _act(client, service, action, data):
    return client.post(f"/staff/services/service/{service.pk}/billing/{action}/", data)


def _money_moved() -> tuple[int, int, int, int]:
    return (Transaction.objects.count(), Charge.objects.count(), Order.objects.count(),
            Invoice.objects.count())


def test_editing_the_service_form_changes_no_billing_fact(client, service):
    sign_in_fresh(client, AdminFactory())
    other = ClientFactory(provider=service.client.provider)

    response = client.post(f"/staff/services/service/{service.pk}/change/", {
        "name": "renamed.example", "parameters": "{}", "client": other.pk,
        "expires_on": "2031-01-01", "auto_renew": "on", "anchor_day": 1,
        "billing_period": "year", "suspension_hold_until": "2031-01-01",
        "history-TOTAL_FORMS": 0, "history-INITIAL_FORMS": 0,
        "operations-TOTAL_FORMS": 0, "operations-INITIAL_FORMS": 0,
        "addon_values-TOTAL_FORMS": 0, "addon_values-INITIAL_FORMS": 0})

    assert response.status_code == 302, response.content.decode()[:2000]
    after = Service.objects.get(pk=service.pk)
    assert after.name == "renamed.example"
    assert (after.client, after.expires_on, after.auto_renew, after.anchor_day,
            after.billing_period, after.suspension_hold_until) == (
        service.client, EXPIRES, False, 31, "month", None)
    entry = ActionLog.objects.get(action="service.changed_by_staff")
    assert entry.details["changes"] == {"name": [service.name, "renamed.example"]}


def test_a_free_extension_moves_no_money_and_says_who_granted_it(client, accountant,
                                                                  service):
    before = _money_moved()

    response = _act(client, service, "extend-free", {"until": "2027-03-31",
                                                     "reason": "Outage compensation"})

    assert response.status_code == 302
    assert Service.objects.get(pk=service.pk).expires_on == date(2027, 3, 31)
    assert _money_moved() == before
    assert personal_account(service.client).balance == Decimal("0.00")
    note = ServiceHistory.objects.filter(service=service).order_by("pk").first()
    assert note.reason == ("Free extension by books@example.com: Outage compensation: now "
                           "expires 2027-03-31")
    entry = ActionLog.objects.get(action="service.extended_free")
    assert entry.details["changes"] == {"expires_on": ["2027-01-31", "2027-03-31"]}
    assert (entry.actor, entry.details["free"]) == (accountant, True)


@pytest.mark.parametrize(("data", "problem"), [
    ({"until": "2027-03-31", "reason": "  "}, "This field is required."),
    ({"until": "2027-01-01", "reason": "Shorter"}, "The new expiry must be after 2027-01-31."),
    ({"until": "NaN", "reason": "x"}, "Enter a valid date."),
])
def test_a_free_extension_needs_a_reason_and_a_later_date(client, accountant, service, data,
                                                          problem):
    response = _act(client, service, "extend-free", data)

    assert response.status_code == 200
    assert problem in response.content.decode()
    assert Service.objects.get(pk=service.pk).expires_on == EXPIRES
    assert not ActionLog.objects.filter(action="service.extended_free").exists()


def test_a_paid_renewal_is_the_clients_own_order_paid_from_the_balance(client, accountant,
                                                                        service):
    top_up(service.client, "100.00")

    response = _act(client, service, "renew", {"period": "month", "idempotency_key": "k"})
    again = _act(client, service, "renew", {"period": "month", "idempotency_key": "k"})

    assert (response.status_code, again.status_code) == (302, 302)
    order = Order.objects.get()
    assert (order.status, order.total, order.created_by) == (
        OrderStatus.PAID, Decimal("10.00"), accountant)
    assert order.items.get().kind == ItemKind.RENEWAL
    assert Service.objects.get(pk=service.pk).expires_on == date(2027, 2, 28)
    assert personal_account(service.client).balance == Decimal("90.00")
    assert Invoice.objects.get().client == service.client
    assert ActionLog.objects.filter(action="service.renewed_by_staff").count() == 1


def test_a_paid_renewal_without_the_money_changes_nothing(client, accountant, service):
    top_up(service.client, "3.00")

    response = _act(client, service, "renew", {"period": "month", "idempotency_key": "k"})

    assert response.status_code == 200
    assert "Not enough funds" in response.content.decode()
    assert not Order.objects.exists()
    assert Service.objects.get(pk=service.pk).expires_on == EXPIRES
    assert personal_account(service.client).balance == Decimal("3.00")


def test_a_transfer_moves_the_service_and_its_future_charges(client, accountant, service,
                                                             vps_plan):
    new_owner = ClientFactory(provider=service.client.provider)
    old_owner = service.client
    CartItem.objects.create(cart=cart_for(old_owner), kind=ItemKind.RENEWAL, service=service,
                            period="month")

    response = _act(client, service, "transfer", {"to_client": new_owner.pk,
                                                  "reason": "Sold the business"})
    top_up(new_owner, "50.00")
    _act(client, service, "renew", {"period": "month", "idempotency_key": "k"})

    assert response.status_code == 302
    assert Service.objects.get(pk=service.pk).client == new_owner
    assert not CartItem.objects.filter(service=service).exists()
    assert personal_account(new_owner).balance == Decimal("40.00")
    assert personal_account(old_owner).balance == Decimal("0.00")
    note = ServiceHistory.objects.filter(service=service).order_by("pk").first()
    assert note.reason == f"Transferred from {old_owner} to {new_owner}: Sold the business"
    logged = ActionLog.objects.filter(action="service.transferred")
    assert {entry.client for entry in logged} == {old_owner, new_owner}


def test_a_transfer_to_another_providers_client_is_refused(client, accountant, service):
    stranger = ClientFactory()

    response = _act(client, service, "transfer", {"to_client": stranger.pk, "reason": "x"})

    assert response.status_code == 200
    assert "No other client of this provider has that id." in response.content.decode()
    assert Service.objects.get(pk=service.pk).client == service.client


def test_a_suspension_hold_is_set_and_lifted_with_a_reason(client, accountant, service):
    held = _act(client, service, "suspension-hold", {"until": "2027-02-15",
                                                     "reason": "Promised to pay"})
    held_until = Service.objects.get(pk=service.pk).suspension_hold_until
    lifted = _act(client, service, "suspension-hold", {"until": "", "reason": "Paid"})

    assert (held.status_code, lifted.status_code) == (302, 302)
    assert held_until == date(2027, 2, 15)
    assert Service.objects.get(pk=service.pk).suspension_hold_until is None
    changes = [e.details["changes"]["suspension_hold_until"] for e in ActionLog.objects.filter(
        action="service.suspension_hold_changed").order_by("pk")]
    assert changes == [["", "2027-02-15"], ["2027-02-15", ""]]


def test_auto_renewal_is_turned_on_by_staff(client, accountant, service):
    response = _act(client, service, "auto-renew", {"enabled": "on"})

    assert response.status_code == 302
    assert Service.objects.get(pk=service.pk).auto_renew is True


@pytest.mark.parametrize("action", ["transfer", "extend-free", "renew", "suspension-hold",
                                    "auto-renew"])
def test_support_may_not_touch_billing_facts(client, service, action):
    support = StaffFactory()
    support.groups.add(department_sync(name="Technical support",
                                       codenames=DEFAULT_DEPARTMENTS["Technical support"]))
    sign_in_fresh(client, support)

    response = _act(client, service, action, {"until": "2031-01-01", "reason": "x",
                                              "to_client": service.client_id,
                                              "period": "month", "enabled": "on",
                                              "idempotency_key": "k"})

    assert response.status_code == 403
    assert Service.objects.get(pk=service.pk).expires_on == EXPIRES


def test_staff_cannot_activate_an_unpaid_order_for_free(client, owner, vps_plan):
    unpaid = ServiceFactory(client=owner.client, plan=vps_plan, status="ordered")
    sign_in_fresh(client, AdminFactory())

    client.post(f"/staff/services/service/{unpaid.pk}/do/activate/")

    after = Service.objects.get(pk=unpaid.pk)
    assert (after.status, after.expires_on) == ("ordered", None)

"""Inside a client's area a member of staff keeps their own department's rights: support
sees services (and the support center), not money; an administrator sees everything. The
banner says whose rights apply."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.utils import timezone

from accounts.models import ActionLog, Payer
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from cart.staff_renewal import staff_renewal_pay
from tests.factories.accounts import AdminFactory, StaffFactory
from tests.factories.billing import top_up
from tests.factories.services import ServiceFactory
from tests.reauth import sign_in_fresh

pytestmark = pytest.mark.django_db

# The money pages of the client area (the invoice's are added with its id).
MONEY_PAGES = ["/finances/invoices/", "/finances/closing/", "/finances/expenses/",
               "/finances/promised-payment/", "/payments/add-funds/", "/payments/credits/",
               "/payments/methods/", "/account/payers/", "/account/payers/new/"]


@pytest.fixture
def world(owner, vps_plan):
    top_up(owner.client, "100.00")
    service = ServiceFactory(client=owner.client, plan=vps_plan, expires_on=date(2027, 1, 31))
    order = staff_renewal_pay(service=service, period="month", actor=AdminFactory(),
                              idempotency_key="w", now=timezone.now())
    invoice = order.invoice
    return {"client": owner.client, "service": service,
            "money": [*MONEY_PAGES, f"/finances/invoices/{invoice.pk}/",
                      f"/finances/invoices/{invoice.pk}/pdf/"]}


def _entered(client, staff, world):
    sign_in_fresh(client, staff)
    response = client.post(f"/staff/accounts/client/{world['client'].pk}/enter/")
    assert response["Location"] == "/"
    return client


def _banner_rights(html: str) -> tuple[str, str]:
    """(whose rights, the areas they open) as the impersonation banner says them."""
    found = re.search(r"with the rights of ([^:]+):\s*<strong>([^<]*)</strong>", html)
    return found.group(1), found.group(2)


def _employee(department: str):
    employee = StaffFactory()
    employee.groups.add(department_sync(name=department,
                                        codenames=DEFAULT_DEPARTMENTS[department]))
    return employee


def test_support_inside_a_client_sees_services_and_no_money(client, world):
    _entered(client, _employee("Technical support"), world)

    services = client.get("/services/")
    service = client.get(f"/services/{world['service'].pk}/")
    money = {url: client.get(url).status_code for url in world["money"]}
    payer = client.post("/account/payers/new/", {
        "kind": "individual", "name": "Support's payer", "country": "US",
        "email": "p@example.com"})
    home = client.get("/").content.decode()

    assert (services.status_code, service.status_code) == (200, 200)
    assert money == {url: 403 for url in world["money"]}
    assert payer.status_code == 403
    assert not Payer.objects.filter(client=world["client"]).exists()
    # Support may look at the client's users (as in the staff panel), not invite any.
    assert _banner_rights(home) == ("Technical support",
                                    "products/services, support center, settings and users")
    assert client.get("/account/users/").status_code == 200
    assert client.get("/account/users/invite/").status_code == 403
    assert 'href="/finances/invoices/"' not in home


def test_an_administrator_inside_a_client_sees_everything(client, world):
    _entered(client, AdminFactory(), world)

    money = {url: client.get(url).status_code for url in world["money"]}
    home = client.get("/").content.decode()

    assert money == {url: 200 for url in world["money"]}
    assert _banner_rights(home) == (
        "Administrator", "products/services, finances, support center, settings and users")


def test_sales_inside_a_client_may_look_at_services_but_not_order(client, world, vps_plan):
    _entered(client, _employee("Sales"), world)

    assert client.get("/services/").status_code == 200
    assert client.get(f"/order/{vps_plan.pk}/").status_code == 403
    assert client.get("/account/payers/").status_code == 403


def test_entering_is_logged_with_the_rights_that_apply(client, world):
    support = _employee("Technical support")
    _entered(client, support, world)
    client.post("/account/leave-client-area/")

    started = ActionLog.objects.get(action="impersonation.started")
    stopped = ActionLog.objects.get(action="impersonation.stopped")
    assert (started.actor, started.client) == (support, world["client"])
    assert started.details["rights"] == "Technical support"
    assert (stopped.actor, stopped.client) == (support, world["client"])

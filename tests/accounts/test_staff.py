"""Staff rights: departments decide which staff screens an employee may open."""

import pytest

from accounts.models import ActionLog, Client
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from tests.factories.accounts import (
    AdminFactory,
    ClientFactory,
    CompanyFactory,
    DepartmentFactory,
    PayerFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


def _employee_of(department_name: str):
    department = department_sync(name=department_name,
                                 codenames=DEFAULT_DEPARTMENTS[department_name])
    employee = StaffFactory()
    employee.groups.add(department)
    return employee


@pytest.mark.parametrize(
    ("department", "url", "status"),
    [
        ("Technical support", "/staff/accounts/client/", 200),
        ("Technical support", "/staff/accounts/payer/", 403),
        ("Technical support", "/staff/accounts/company/", 403),
        ("Technical support", "/staff/accounts/provider/", 403),
        ("Technical support", "/staff/accounts/department/", 403),
        ("Accounting", "/staff/accounts/payer/", 200),
        ("Accounting", "/staff/accounts/company/", 200),
        ("Accounting", "/staff/accounts/client/", 200),
        ("Accounting", "/staff/accounts/department/", 403),
        ("Sales", "/staff/accounts/payer/", 403),
    ],
)
def test_departments_open_only_their_screens(client, department, url, status):
    client.force_login(_employee_of(department))

    assert client.get(url).status_code == status


def test_support_cannot_open_a_payer_of_a_client(client):
    payer = PayerFactory()
    client.force_login(_employee_of("Technical support"))

    assert client.get(f"/staff/accounts/payer/{payer.pk}/change/").status_code == 403


def test_staff_index_lists_only_permitted_models(client):
    CompanyFactory()
    client.force_login(_employee_of("Technical support"))

    html = client.get("/staff/").content.decode()

    assert "/staff/accounts/client/" in html
    assert "/staff/accounts/payer/" not in html
    assert "/staff/accounts/company/" not in html


def test_an_employee_cannot_make_themselves_administrator(client):
    employee = _employee_of("Sales")
    employee.user_permissions.add(*department_sync(
        name="User managers", codenames=["accounts.change_user", "accounts.view_user"]
    ).permissions.all())
    client.force_login(employee)

    page = client.get(f"/staff/accounts/user/{employee.pk}/change/")
    client.post(f"/staff/accounts/user/{employee.pk}/change/", {
        "email": employee.email, "name": employee.name, "is_superuser": "on",
        "is_staff": "on", "is_active": "on",
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
    })

    assert page.status_code == 200
    assert 'name="is_superuser"' not in page.content.decode()
    employee.refresh_from_db()
    assert not employee.is_superuser


def test_non_staff_user_cannot_open_the_staff_panel(owner_client):
    response = owner_client.get("/staff/accounts/client/")

    assert response.status_code == 302
    assert "/staff/login/" in response["Location"]


def test_staff_changes_are_in_the_action_log(client):
    admin = AdminFactory()
    target = ClientFactory(name="Before")
    client.force_login(admin)

    response = client.post(f"/staff/accounts/client/{target.pk}/change/", {
        "provider": target.provider_id, "kind": "person", "name": "After",
        "email": target.email, "phone": "", "notes": "",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
        "payers-TOTAL_FORMS": "0", "payers-INITIAL_FORMS": "0",
        "services-TOTAL_FORMS": "0", "services-INITIAL_FORMS": "0",
    })

    assert response.status_code == 302
    assert Client.objects.get(pk=target.pk).name == "After"
    entry = ActionLog.objects.get(action="client.changed_by_staff")
    assert entry.actor == admin
    assert entry.client == target
    assert entry.details["changes"] == {"name": ["Before", "After"]}


def test_department_sync_is_idempotent():
    first = department_sync(name="Technical support",
                            codenames=DEFAULT_DEPARTMENTS["Technical support"])
    again = department_sync(name="Technical support",
                            codenames=DEFAULT_DEPARTMENTS["Technical support"])

    assert first.pk == again.pk
    assert set(first.permissions.all()) == set(again.permissions.all())
    assert DepartmentFactory(name="Technical support").pk == first.pk

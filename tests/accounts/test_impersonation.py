"""'Enter as client': staff open a client's area, a banner shows it, the log records it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.impersonation import SESSION_KEY
from accounts.models import ActionLog, Payer
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from tests.factories.accounts import AdminFactory, StaffFactory
from tests.reauth import sign_in_fresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(db):
    employee = StaffFactory()
    employee.groups.add(department_sync(name="Technical support",
                                        codenames=DEFAULT_DEPARTMENTS["Technical support"]))
    return employee


def test_staff_enters_the_client_area_and_returns(client, support, owner):
    sign_in_fresh(client, support)

    entered = client.post(f"/staff/accounts/client/{owner.client.pk}/enter/")
    home = client.get("/")
    left = client.post("/account/leave-client-area/")

    assert entered.status_code == 302
    assert entered["Location"] == "/"
    html = home.content.decode()
    assert "You are in the client area of" in html
    assert owner.client.name in html
    assert left["Location"] == f"/staff/accounts/client/{owner.client.pk}/change/"
    assert SESSION_KEY not in client.session
    started = ActionLog.objects.get(action="impersonation.started")
    stopped = ActionLog.objects.get(action="impersonation.stopped")
    assert (started.actor, started.client) == (support, owner.client)
    assert (stopped.actor, stopped.client) == (support, owner.client)


def test_actions_while_impersonating_are_logged_with_the_staff_member(client, owner):
    admin = AdminFactory()
    sign_in_fresh(client, admin)
    client.post(f"/staff/accounts/client/{owner.client.pk}/enter/")

    client.post("/account/payers/new/", {
        "kind": "individual", "name": "Added By Staff", "country": "US",
        "email": "p@example.com"})

    payer = Payer.objects.get(client=owner.client)
    entry = ActionLog.objects.get(action="payer.created")
    assert payer.name == "Added By Staff"
    assert (entry.actor, entry.impersonator, entry.client) == (admin, admin, owner.client)


def test_staff_without_the_right_cannot_enter(client, owner):
    client.force_login(StaffFactory())

    response = client.post(f"/staff/accounts/client/{owner.client.pk}/enter/")

    assert response.status_code == 403
    assert not ActionLog.objects.filter(action="impersonation.started").exists()
    assert client.get("/").status_code == 302


def test_staff_losing_the_right_loses_the_client_area(client, support, owner):
    sign_in_fresh(client, support)
    client.post(f"/staff/accounts/client/{owner.client.pk}/enter/")
    support.groups.clear()

    response = client.get("/account/payers/")

    assert response.status_code == 302
    assert SESSION_KEY not in client.session


def test_impersonation_expires(client, support, owner, settings):
    sign_in_fresh(client, support)
    client.post(f"/staff/accounts/client/{owner.client.pk}/enter/")
    session = client.session
    session[SESSION_KEY]["started_at"] = (
        timezone.now() - timedelta(seconds=settings.IMPERSONATION_MAX_AGE_SECONDS + 1)
    ).isoformat()
    session.save()

    assert client.get("/").status_code == 302


def test_clients_cannot_use_the_enter_url(owner_client, owner):
    response = owner_client.post(f"/staff/accounts/client/{owner.client.pk}/enter/")

    assert response.status_code == 302
    assert "/staff/login/" in response["Location"]
    assert not ActionLog.objects.filter(action="impersonation.started").exists()

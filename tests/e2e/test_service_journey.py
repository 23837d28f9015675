"""The client reboots a server and watches In progress turn into Active, in place."""

import pytest
from playwright.sync_api import expect

from services.models import ServiceStatus
from tests.celery_worker import running_worker
from tests.factories.accounts import PASSWORD, ClientUserFactory, ProviderFactory
from tests.factories.services import PlanFactory, ServiceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_reboot_shows_in_progress_then_active_without_a_reload(page, shoot):
    owner = ClientUserFactory(owner=True, client__provider=ProviderFactory(is_default=True))
    plan = PlanFactory(provider=owner.client.provider, module_settings={"delay": 2})
    service = ServiceFactory(client=owner.client, plan=plan, name="vps-7.example",
                             parameters={"ip_addresses": ["10.20.0.7"]})
    page.goto("/auth/login/")
    page.fill("input[name=login]", owner.user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    with running_worker():
        page.click("nav >> text=Goods/Services")
        shoot("services-list")
        page.click("table >> text=vps-7.example")
        page.evaluate("window.__marker = 'same page'")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("button:has-text('Reboot')")
        expect(page.locator("#service-live .badge").first).to_contain_text("In progress: reboot")
        shoot("service-in-progress")
        expect(page.locator("#service-live .card-head .badge")).to_have_text(
            "Active", timeout=30_000)

    assert page.evaluate("window.__marker") == "same page"  # updated in place
    shoot("service-active-again")
    service.refresh_from_db()
    assert service.status == ServiceStatus.ACTIVE
    assert service.history.filter(operation="reboot", to_status="active").exists()

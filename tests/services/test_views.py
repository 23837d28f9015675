"""Client area: Goods/Services, the service page, its actions, and the home widgets."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Access
from services.models import (
    Operation,
    ProductType,
    Service,
    ServiceOperation,
    ServiceStatus,
    SuspendReason,
)
from tests.factories.accounts import ClientUserFactory
from tests.factories.services import (
    DailyPlanFactory,
    PlanFactory,
    ServiceFactory,
    UsageFactory,
)

pytestmark = pytest.mark.django_db
S = ServiceStatus


def _service(owner, **fields):
    fields.setdefault("plan", PlanFactory(provider=owner.client.provider))
    return ServiceFactory(client=owner.client, **fields)


def test_list_shows_the_seed_columns(owner_client, owner):
    _service(owner, name="web-1", expires_on=date(2025, 8, 7), auto_renew=True)
    _service(owner, name="stopped-1", status=S.SUSPENDED, suspend_reason=SuspendReason.EXPIRED,
             suspended_at=timezone.make_aware(timezone.datetime(2025, 7, 1, 12)))
    _service(owner, name="daily-1", plan=DailyPlanFactory(provider=owner.client.provider),
             billing_period="day", activated_at=timezone.now())

    html = owner_client.get("/services/").content.decode()

    assert "Expires 2025-08-07" in html
    assert "Stopped 2025-07-01" in html
    assert "Suspended expired" in html
    assert "1.00 USD/day" in html
    assert "10.00 USD/month" in html
    assert ">On<" in html
    assert ">Off<" in html


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("?type=domain", ["my-domain"], ["my-vps"]),
        ("?status=suspended", ["my-vps"], ["my-domain"]),
        ("", ["my-vps", "my-domain"], ["deleted-one"]),
        ("?status=deleted", ["deleted-one"], ["my-vps"]),
    ],
)
def test_list_filters(owner_client, owner, query, shown, hidden):
    _service(owner, name="my-vps", status=S.SUSPENDED, suspend_reason=SuspendReason.CLIENT)
    _service(owner, name="my-domain",
             plan=PlanFactory(provider=owner.client.provider, product_type=ProductType.DOMAIN))
    _service(owner, name="deleted-one", status=S.DELETED)

    html = owner_client.get(f"/services/{query}").content.decode()

    for name in shown:
        assert name in html
    for name in hidden:
        assert name not in html


def test_filter_by_id_and_htmx_returns_only_the_table(htmx_client, owner):
    wanted = _service(owner, name="wanted")
    _service(owner, name="other")

    response = htmx_client.get(f"/services/?id={wanted.pk}")

    html = response.content.decode()
    assert "<html" not in html
    assert "wanted" in html
    assert "other" not in html


def test_service_page_shows_parameters_addons_history_and_allowed_actions(owner_client, owner):
    service = _service(owner, parameters={"ip_addresses": ["10.0.0.7"]})

    html = owner_client.get(f"/services/{service.pk}/").content.decode()

    assert "10.0.0.7" in html
    assert "/reboot/" in html
    assert "/suspend/" in html
    assert "/resume/" not in html


def test_client_suspends_and_the_page_shows_in_progress_and_polls(htmx_client, owner):
    service = _service(owner)

    response = htmx_client.post(f"/services/{service.pk}/suspend/")

    service.refresh_from_db()
    assert (service.status, service.operation) == (S.IN_PROGRESS, Operation.SUSPENSION)
    html = response.content.decode()
    assert "In progress: suspension" in html
    assert 'hx-trigger="every 2s"' in html


@pytest.mark.parametrize(
    ("status", "reason", "action", "message"),
    [
        (S.SUSPENDED_BY_ADMIN, SuspendReason.ADMIN, "resume", "suspended yourself"),
        (S.SUSPENDED, SuspendReason.NONPAYMENT, "resume", "suspended yourself"),
        (S.SUSPENDED_ABUSE, SuspendReason.ABUSE, "delete", "cannot be deleted"),
        (S.ORDERED, "", "reboot", "Only an active server"),
        (S.ACTIVE, "", "resume", "suspended yourself"),
        (S.DELETED, "", "suspend", "Only an active service"),
    ],
)
def test_actions_the_status_forbids_get_a_message_and_change_nothing(
    owner_client, owner, status, reason, action, message
):
    service = _service(owner, status=status, suspend_reason=reason)

    response = owner_client.post(f"/services/{service.pk}/{action}/", follow=True)

    assert message in response.content.decode()
    service.refresh_from_db()
    assert (service.status, service.suspend_reason) == (status, reason)
    assert not ServiceOperation.objects.filter(service=service).exists()


def test_plan_that_forbids_deletion(owner_client, owner):
    service = _service(owner, plan=PlanFactory(provider=owner.client.provider,
                                               client_can_delete=False))

    response = owner_client.post(f"/services/{service.pk}/delete/", follow=True)

    assert "cannot be deleted" in response.content.decode()
    assert Service.objects.get(pk=service.pk).status == S.ACTIVE


def test_reader_of_services_cannot_act(client, owner):
    reader = ClientUserFactory(client=owner.client, services_access=Access.READ)
    service = _service(owner)
    client.force_login(reader.user)

    page = client.get(f"/services/{service.pk}/")
    action = client.post(f"/services/{service.pk}/suspend/")

    assert page.status_code == 200
    assert "/suspend/" not in page.content.decode()
    assert action.status_code == 403
    assert Service.objects.get(pk=service.pk).status == S.ACTIVE


def test_user_without_services_right_cannot_open_the_list(client, owner):
    member = ClientUserFactory(client=owner.client, services_access=Access.NONE)
    client.force_login(member.user)

    assert client.get("/services/").status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("post", "suspend/"), ("post", "delete/"), ("post", "auto-renew-on/"),
     ("post", "nameservers/")],
)
def test_another_clients_service_is_404(owner_client, method, path):
    foreign = ServiceFactory(name="foreign-secret")

    response = getattr(owner_client, method)(f"/services/{foreign.pk}/{path}",
                                             {"ns1": "a.example.com", "ns2": "b.example.com"},
                                             HTTP_HX_REQUEST="true")

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == S.ACTIVE
    assert foreign.auto_renew is False
    assert "foreign-secret" not in response.content.decode()


def test_foreign_id_in_the_filter_shows_nothing(owner_client):
    foreign = ServiceFactory(name="foreign-secret")

    html = owner_client.get(f"/services/?id={foreign.pk}").content.decode()

    assert "foreign-secret" not in html


def test_auto_renew_toggle_is_recorded_in_history(owner_client, owner):
    service = _service(owner)

    owner_client.post(f"/services/{service.pk}/auto-renew-on/")

    service.refresh_from_db()
    assert service.auto_renew
    assert service.history.filter(reason="Auto-renewal turned on", actor=owner.user).exists()


def test_domain_nameservers_change_through_a_reconfiguration(owner_client, owner):
    service = _service(owner, plan=PlanFactory(provider=owner.client.provider,
                                               product_type=ProductType.DOMAIN))

    bad = owner_client.post(f"/services/{service.pk}/nameservers/", {"ns1": "not a host",
                                                                   "ns2": "b.example.com"})
    assert "Enter a host name" in bad.content.decode()
    assert Service.objects.get(pk=service.pk).status == S.ACTIVE

    owner_client.post(f"/services/{service.pk}/nameservers/",
                      {"ns1": "NS1.Example.com.", "ns2": "ns2.example.com"})
    service.refresh_from_db()
    assert service.parameters["nameservers"] == ["ns1.example.com", "ns2.example.com"]
    assert (service.status, service.operation) == (S.IN_PROGRESS, Operation.RECONFIGURATION)


def test_home_widgets_with_rows_and_with_the_empty_message(owner_client, owner):
    html = owner_client.get("/").content.decode()
    assert html.count("Information will appear here once more of it is gathered.") == 2

    service = _service(owner, name="busy-vps", expires_on=date(2030, 1, 2))
    today = timezone.localdate()
    UsageFactory(service=service, period_start=today - timedelta(days=3),
                 period_end=today + timedelta(days=27), quantity=Decimal(150))

    html = owner_client.get("/").content.decode()
    assert "Active Services" in html
    assert "Services with overages" in html
    assert "busy-vps" in html
    assert "Expires 2030-01-02" in html
    assert f"/services/?id={service.pk}" in html
    assert "5.00 USD" in html  # 50 units over the included 100, at 0.10


@pytest.mark.parametrize("count", [5, 500])
def test_list_and_home_run_a_bounded_number_of_queries(
    owner_client, owner, count, django_assert_max_num_queries
):
    plan = PlanFactory(provider=owner.client.provider)
    Service.objects.bulk_create([
        Service(client=owner.client, plan=plan, name=f"s{i}", billing_period="month",
                status=S.ACTIVE) for i in range(count)])
    with django_assert_max_num_queries(16):
        assert owner_client.get("/services/").status_code == 200
    with django_assert_max_num_queries(18):
        assert owner_client.get("/").status_code == 200

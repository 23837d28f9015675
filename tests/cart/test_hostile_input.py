"""Addon quantities and promo codes that are not what a person types get a message and
change nothing, on the pages and in their live previews (each was a 500)."""

from datetime import date

import pytest

from cart import operations
from cart.models import CartItem
from tests.factories.accounts import ClientUserFactory
from tests.factories.services import ServiceAddonFactory, ServiceFactory

pytestmark = pytest.mark.django_db

HOSTILE = ["NaN", "sNaN", "-NaN", "Infinity", "-Infinity", "1e400", "1E+2",
           "\u0661\u0662", "\uff14\uff10",
           "9" * 40, "-20", "40.0001", "0x28", " "]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("preview", [False, True], ids=["submit", "live preview"])
def test_an_order_with_a_hostile_quantity_is_refused_with_a_message(htmx_client, vps_plan,
                                                                     value, preview):
    data = {"period": "month", "hostname": "new.example.com",
            f"addon_{vps_plan.disk.pk}": value}
    if preview:
        data["preview"] = "1"

    response = htmx_client.post(f"/order/{vps_plan.pk}/", data)

    assert response.status_code == 200
    if value.strip():
        assert "Disk" in response.content.decode()
        assert CartItem.objects.count() == 0


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("preview", [False, True], ids=["submit", "live preview"])
def test_a_change_with_a_hostile_quantity_is_refused_with_a_message(htmx_client, owner,
                                                                    vps_plan, value, preview):
    service = ServiceFactory(client=owner.client, plan=vps_plan)
    ServiceAddonFactory(service=service, addon=vps_plan.disk, quantity=20)
    data = {"plan": vps_plan.pk, f"addon_{vps_plan.disk.pk}": value}
    if preview:
        data["preview"] = "1"

    response = htmx_client.post(f"/cart/services/{service.pk}/change/", data)

    assert response.status_code == 200
    assert CartItem.objects.count() == 0


def test_a_plain_quantity_still_prices_in_the_preview(htmx_client, vps_plan):
    response = htmx_client.post(f"/order/{vps_plan.pk}/", {
        "period": "month", f"addon_{vps_plan.disk.pk}": "40", "preview": "1"})

    # 10.00 for the plan + 20 GB over the included 20 at 0.50
    assert "20.00" in response.content.decode()


@pytest.mark.parametrize("code", ["PROMO\x00", "\x00", "x" * 100_000, "'; DROP TABLE x;--"])
def test_a_hostile_promo_code_is_refused(owner_client, code):
    response = owner_client.post("/cart/promo/", {"code": code})

    assert response.status_code in (302, 400)


def test_removing_another_client_s_cart_item_is_404(owner_client, vps_plan):
    other = ClientUserFactory(owner=True, client__provider=vps_plan.provider)
    item = operations.cart_add_new(
        client=other.client, today=date(2027, 1, 1), plan=vps_plan,
        period="month", raw_values={}, parameters={"hostname": "theirs.example"},
        user=other.user).item

    response = owner_client.post(f"/cart/items/{item.pk}/remove/")

    assert response.status_code == 404
    assert CartItem.objects.filter(pk=item.pk).exists()


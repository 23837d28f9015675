"""The seeds' cart rule, table-driven: one operation per service, except a stopped one."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cart import operations
from cart.models import CartItem, ItemKind
from services.catalog import addon_delete
from services.models import ServiceStatus, SuspendReason
from tests.factories.services import ServiceFactory

pytestmark = pytest.mark.django_db
S = ServiceStatus
SOON = timezone.localdate() + timedelta(days=20)


TODAY = date.today()


def _add(kind, owner, service):
    client = owner.client
    if kind == ItemKind.RENEWAL:
        return operations.cart_add_renewal(client=client, today=TODAY, service=service,
                                           period="month", user=owner.user)
    if kind == ItemKind.AUTO_RENEW:
        return operations.cart_add_auto_renew(client=client, today=TODAY, service=service,
                                              user=owner.user)
    return operations.cart_add_change(client=client, today=TODAY, service=service, new_plan=None,
                                      user=owner.user,
                                      raw_values={f"addon_{service.plan.disk.pk}": "40"})


@pytest.mark.parametrize(
    ("status", "reason", "first", "second", "kept", "replaced"),
    [
        # An active service: the second operation replaces the first (seeds' example).
        (S.ACTIVE, "", ItemKind.CHANGE, ItemKind.AUTO_RENEW, [ItemKind.AUTO_RENEW], 1),
        (S.ACTIVE, "", ItemKind.RENEWAL, ItemKind.CHANGE, [ItemKind.CHANGE], 1),
        (S.ACTIVE, "", ItemKind.RENEWAL, ItemKind.RENEWAL, [ItemKind.RENEWAL], 1),
        # A stopped service: both may stay (the seeds' exception)...
        (S.SUSPENDED, SuspendReason.EXPIRED, ItemKind.CHANGE, ItemKind.AUTO_RENEW,
         [ItemKind.CHANGE, ItemKind.AUTO_RENEW], 0),
        (S.SUSPENDED, SuspendReason.CLIENT, ItemKind.RENEWAL, ItemKind.CHANGE,
         [ItemKind.RENEWAL, ItemKind.CHANGE], 0),
        (S.SUSPENDED_BY_ADMIN, SuspendReason.ADMIN, ItemKind.CHANGE, ItemKind.RENEWAL,
         [ItemKind.CHANGE, ItemKind.RENEWAL], 0),
        # ...but never the same operation twice.
        (S.SUSPENDED, SuspendReason.NONPAYMENT, ItemKind.RENEWAL, ItemKind.RENEWAL,
         [ItemKind.RENEWAL], 1),
    ],
)
def test_one_operation_per_service_unless_stopped(owner, vps_plan, status, reason, first, second,
                                                  kept, replaced):
    service = ServiceFactory(client=owner.client, plan=vps_plan, status=status,
                             suspend_reason=reason, expires_on=SOON)

    _add(first, owner, service)
    result = _add(second, owner, service)

    items = list(CartItem.objects.filter(service=service).order_by("pk"))
    assert [item.kind for item in items] == kept
    assert len(result.replaced) == replaced


def test_operations_on_different_services_stay_together(owner, vps_plan):
    one = ServiceFactory(client=owner.client, plan=vps_plan, expires_on=SOON)
    two = ServiceFactory(client=owner.client, plan=vps_plan, expires_on=SOON)

    _add(ItemKind.RENEWAL, owner, one)
    _add(ItemKind.RENEWAL, owner, two)

    assert CartItem.objects.count() == 2


def test_the_client_is_told_when_an_operation_is_replaced(owner_client, owner, vps_plan):
    service = ServiceFactory(client=owner.client, plan=vps_plan, expires_on=SOON)
    owner_client.post(f"/cart/services/{service.pk}/renew/", {"period": "month"})

    page = owner_client.post(f"/cart/services/{service.pk}/auto-renew/", follow=True)

    assert "holds one operation per service" in page.content.decode()
    assert [i.kind for i in CartItem.objects.all()] == [ItemKind.AUTO_RENEW]


def test_staff_withdrawing_an_addon_removes_it_from_carts_with_a_notice(owner_client, owner,
                                                                        vps_plan):
    ordered = owner_client.post(f"/order/{vps_plan.pk}/", {
        "period": "month", "hostname": "new.example.com",
        f"addon_{vps_plan.disk.pk}": "40"})
    assert ordered.status_code == 302
    service = CartItem.objects.get().service
    active = ServiceFactory(client=owner.client, plan=vps_plan, expires_on=SOON)
    _add(ItemKind.CHANGE, owner, active)

    vps_plan.disk.is_active = False
    vps_plan.disk.save()

    assert not CartItem.objects.exists()
    service.refresh_from_db()
    assert service.status == S.DELETED
    page = owner_client.get("/cart/").content.decode()
    assert page.count("was removed from your cart: Disk of VPS S, it was withdrawn") == 2
    assert "was removed" not in owner_client.get("/cart/").content.decode()  # told once


def test_staff_deleting_an_addon_used_only_in_carts(owner_client, owner, vps_plan):
    owner_client.post(f"/order/{vps_plan.pk}/", {"period": "month",
                                                 "hostname": "new.example.com",
                                                 f"addon_{vps_plan.disk.pk}": "40"})

    addon_delete(vps_plan.disk)

    assert not CartItem.objects.exists()
    assert "was removed from your cart" in owner_client.get("/cart/").content.decode()


def test_archiving_a_plan_removes_its_orders_from_carts(owner_client, owner, vps_plan):
    owner_client.post(f"/order/{vps_plan.pk}/", {"period": "month",
                                                 "hostname": "new.example.com",
                                                 f"addon_{vps_plan.disk.pk}": "20"})

    vps_plan.is_archived = True
    vps_plan.save()

    assert not CartItem.objects.exists()
    assert "can no longer be ordered" in owner_client.get("/cart/").content.decode()


def test_a_price_change_is_announced_and_the_cart_repriced(owner_client, owner, vps_plan):
    owner_client.post(f"/order/{vps_plan.pk}/", {"period": "month",
                                                 "hostname": "new.example.com",
                                                 f"addon_{vps_plan.disk.pk}": "20"})
    price = vps_plan.prices.get(period="month")
    price.price = price.price * Decimal(2)
    price.save()

    page = owner_client.get("/cart/").content.decode()

    assert "The price of VPS S changed" in page
    assert "20.00 USD" in page

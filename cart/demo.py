"""Demo promotions, a group discount, an agreement and a pending order. Idempotent."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Client, ClientGroup
from billing.models import GroupDiscount
from cart import operations
from cart.checkout import order_create
from cart.models import Agreement, Order, PromoCode
from services.models import TariffPlan


def seed() -> None:
    _seed_catalog_and_order()


@transaction.atomic
def _seed_catalog_and_order() -> None:
    PromoCode.objects.get_or_create(code="WELCOME10", defaults={
        "kind": PromoCode.Kind.PERCENT, "value": Decimal(10), "first_order_only": False,
        "max_uses": 1000, "max_uses_per_client": 1})
    PromoCode.objects.get_or_create(code="FIVEOFF", defaults={
        "kind": PromoCode.Kind.FIXED, "value": Decimal("5.00"), "currency": "USD",
        "max_uses_per_client": 3})
    vip = ClientGroup.objects.get(name="VIP")
    GroupDiscount.objects.get_or_create(
        group=vip, name="VIP: 10 % off virtual servers",
        defaults={"percent": Decimal(10), "product_types": ["vps"]})
    agreement, created = Agreement.objects.get_or_create(
        title="Dedicated server agreement", defaults={
            "text": "The server is yours alone. You keep your data backed up; hardware "
                    "faults are fixed within four hours of a ticket."})
    if created:
        agreement.plans.add(*TariffPlan.objects.filter(name="Dedicated E3"))

    client = Client.objects.get(email="client@example.com")
    if Order.objects.filter(client=client).exists():
        return
    owner = client.memberships.get(is_owner=True).user
    hosting = TariffPlan.objects.get(name="Web Start")
    operations.cart_add_new(client=client, today=timezone.localdate(), plan=hosting,
                            period="month", raw_values={},
                            parameters={"domain": "shop.dana.example"}, user=owner)
    order_create(client=client, user=owner, idempotency_key="demo-pending-order",
                 now=timezone.now())

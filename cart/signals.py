"""Receivers of the cart: catalog changes by staff that reprice or remove what clients have
in their carts. (What a payment sets in motion for services is the billing clock's:
``engine.signals``.)"""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from cart.models import CartItem, ItemKind
from cart.operations import _discard, cart_notify
from services.billing_facts import service_transferred
from services.models import Addon, AddonPrice, PlanPrice, Service, TariffPlan


def _notify(items, message_for) -> None:
    for item in items:
        cart_notify(item.cart, message_for(item))


def _remove(items, why: str) -> None:
    for item in list(items):
        _notify([item], lambda i: f"{i} was removed from your cart: {why}.")
        _discard(item, actor=None)


def _items_of_plan(plan_id: int):
    return CartItem.objects.filter(service__plan_id=plan_id).select_related("cart", "service") \
        | CartItem.objects.filter(new_plan_id=plan_id).select_related("cart", "service")


@receiver(post_save, sender=TariffPlan)
def plan_changed(sender, instance: TariffPlan, **kwargs):
    if not instance.is_orderable:
        new_orders = CartItem.objects.filter(
            service__plan=instance, kind=ItemKind.NEW).select_related("cart", "service")
        changes_to = CartItem.objects.filter(new_plan=instance).select_related("cart", "service")
        _remove(new_orders, f"{instance.name} can no longer be ordered")
        _remove(changes_to, f"{instance.name} can no longer be ordered")


@receiver(post_save, sender=PlanPrice)
def plan_price_changed(sender, instance: PlanPrice, created, **kwargs):
    _notify(_items_of_plan(instance.plan_id),
            lambda item: f"The price of {instance.plan.name} changed; {item} is repriced.")


@receiver(post_save, sender=AddonPrice)
def addon_price_changed(sender, instance: AddonPrice, **kwargs):
    _notify(_items_of_plan(instance.addon.plan_id),
            lambda item: f"The price of {instance.addon.name} changed; {item} is repriced.")


@receiver(post_save, sender=Addon)
def addon_changed(sender, instance: Addon, **kwargs):
    if not instance.is_active:
        _addon_gone(instance, "it was withdrawn")


def _addon_gone(addon: Addon, why: str) -> None:
    new_orders = CartItem.objects.filter(kind=ItemKind.NEW, service__addon_values__addon=addon,
                                         ).select_related("cart", "service").distinct()
    changes = CartItem.objects.filter(kind=ItemKind.CHANGE,
                                      addon_values__has_key=str(addon.pk)).select_related(
        "cart", "service")
    _remove(new_orders, f"{addon.name} of {addon.plan.name}, {why}")
    _remove(changes, f"{addon.name} of {addon.plan.name}, {why}")


@receiver(service_transferred, sender=Service)
def service_transferred_away(sender, service: Service, old_client, new_client, **kwargs):
    """The old owner can no longer renew or change a service that is not theirs."""
    _remove(CartItem.objects.filter(service=service).exclude(cart__client=new_client)
            .select_related("cart", "service"), f"{service} now belongs to another client")

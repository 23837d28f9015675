"""Putting operations in the cart, under the seeds' rule.

"The cart cannot contain two operations on the same service at the same time": adding a
second operation replaces the first, and the client is told so. "Exception: if the
service is stopped, both of these operations may be in the shopping cart at the same
time." A stopped service is a suspended one (by the client, the administrator, for abuse,
non-payment or expiry); even then one service has at most one operation of each kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.actionlog import log_action
from accounts.models import Client, User
from cart.models import Agreement, AgreementAcceptance, Cart, CartItem, CartNotice, ItemKind
from cart.pricing import ItemError, ItemSpec, item_quote
from core.forms import parse_quantity
from services.lifecycle import service_transition
from services.models import (
    SUSPENDED_STATUSES,
    Addon,
    AddonKind,
    Service,
    ServiceAddon,
    ServiceStatus,
    TariffPlan,
)
from services.parameters import clean_parameters, service_display_name
from services.pricing import AddonValue


@dataclass(frozen=True)
class AddResult:
    item: CartItem
    replaced: list[str]  # descriptions of the operations it replaced (the client is told)


def cart_for(client: Client) -> Cart:
    cart, _ = Cart.objects.get_or_create(client=client)
    return cart


def _lock(client: Client) -> Cart:
    cart = cart_for(client)
    return Cart.objects.select_for_update().get(pk=cart.pk)


def is_stopped(service: Service) -> bool:
    return service.status in SUSPENDED_STATUSES


# Addon values ----------------------------------------------------------------------------------
def clean_addon_values(plan: TariffPlan, raw: dict[str, str]) -> dict[int, AddonValue]:
    """Addon values from a form (``addon_<id>`` -> text), checked against min, max, step
    and the enumeration; a ``ValidationError`` per addon otherwise."""
    values, errors = {}, {}
    for addon in plan.addons.filter(is_active=True).exclude(kind=AddonKind.METERED):
        key = f"addon_{addon.pk}"
        text = (raw.get(key) or "").strip()
        try:
            values[addon.pk] = _addon_value(addon, text)
        except ValidationError as error:
            errors[key] = error.messages
    if errors:
        raise ValidationError(errors)
    return values


def _addon_value(addon: Addon, text: str) -> AddonValue:
    if addon.kind == AddonKind.TOGGLE:
        return AddonValue(Decimal(1) if text in ("1", "on", "true") else Decimal(0))
    if addon.kind == AddonKind.CHOICE:
        if not text:
            return AddonValue(Decimal(0), None)
        item = addon.enumeration.items.filter(pk=text if text.isdigit() else 0,
                                              is_active=True).first()
        if item is None:
            raise ValidationError(f"Choose one of the {addon.name.lower()} options.")
        return AddonValue(Decimal(0), item.pk)
    quantity = parse_quantity(text, label=addon.name) if text else (
        addon.default_value or addon.minimum)
    unit = f" {addon.unit.symbol}" if addon.unit else ""
    if quantity < addon.minimum:
        raise ValidationError(f"{addon.name}: at least {addon.minimum.normalize():f}{unit}.")
    if addon.maximum is not None and quantity > addon.maximum:
        raise ValidationError(f"{addon.name}: at most {addon.maximum.normalize():f}{unit}.")
    if (quantity - addon.minimum) % addon.step:
        raise ValidationError(f"{addon.name}: in steps of {addon.step.normalize():f}{unit} "
                              f"from {addon.minimum.normalize():f}.")
    return AddonValue(quantity)


# Agreements --------------------------------------------------------------------------------------
def agreements_missing(client: Client, plans) -> list[Agreement]:
    accepted = set(AgreementAcceptance.objects.filter(client=client).values_list(
        "agreement_id", "version"))
    required = Agreement.objects.filter(plans__in=plans).distinct()
    return [a for a in required if (a.pk, a.version) not in accepted]


def agreements_accept(*, client: Client, agreements, user: User, request=None) -> None:
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    for agreement in agreements:
        AgreementAcceptance.objects.get_or_create(
            agreement=agreement, version=agreement.version, client=client,
            defaults={"user": user, "ip_address": ip})
        log_action(actor=user, action="agreement.accepted", obj=agreement, client=client,
                   request=request, details={"version": agreement.version})


# Adding and removing ---------------------------------------------------------------------
def _add(cart: Cart, item: CartItem, *, actor: User, request=None) -> AddResult:
    """Add under the rule: one operation per service unless it is stopped."""
    others = cart.items.filter(service=item.service)
    if is_stopped(item.service):
        others = others.filter(kind=item.kind)
    replaced = [str(other) for other in others]
    for other in others:
        _discard(other, actor=actor)
    item.cart = cart
    item.save()
    log_action(actor=actor, action="cart.item_added", obj=item.service,
               client=cart.client, request=request,
               details={"kind": item.kind, "replaced": replaced})
    return AddResult(item, replaced)


def _discard(item: CartItem, *, actor: User | None) -> None:
    service = item.service
    item.delete()
    if item.kind == ItemKind.NEW and service.status == ServiceStatus.ORDERED:
        # An order that leaves the cart unpaid leaves no service behind.
        ServiceAddon.objects.filter(service=service).delete()
        service_transition(service=service, to=ServiceStatus.DELETED, actor=actor,
                           reason="Removed from the cart before payment")


@transaction.atomic
def cart_add_new(*, client: Client, today: date, plan: TariffPlan, period: str,
                 raw_values: dict, parameters: dict, user: User, request=None) -> AddResult:
    """Order a new service: it exists at once, Ordered, waiting in the cart for payment."""
    cart = _lock(client)
    if plan.provider_id != client.provider_id or not plan.is_orderable:
        raise ItemError("This tariff plan cannot be ordered.")
    if not plan.prices.filter(period=period).exists():
        raise ItemError(f"{plan.name} is not sold for this period.")
    values = clean_addon_values(plan, raw_values)
    cleaned = clean_parameters(plan.product_type, parameters,
                               required=not plan.needs_configuration)
    service = Service.objects.create(
        client=client, plan=plan, billing_period=period, parameters=cleaned,
        name=service_display_name(plan.product_type, cleaned, plan.name),
        status=ServiceStatus.ORDERED)
    ServiceAddon.objects.bulk_create([
        ServiceAddon(service=service, addon_id=addon_id, quantity=value.quantity,
                     choice_id=value.choice_id) for addon_id, value in values.items()])
    item_quote(ItemSpec(ItemKind.NEW, service), today, client)  # priceable
    return _add(cart, CartItem(kind=ItemKind.NEW, service=service, period=period),
                actor=user, request=request)


@transaction.atomic
def cart_add_renewal(*, client: Client, today: date, service: Service, period: str,
                     user: User, request=None) -> AddResult:
    cart = _lock(client)
    item_quote(ItemSpec(ItemKind.RENEWAL, service, period=period), today, client)
    return _add(cart, CartItem(kind=ItemKind.RENEWAL, service=service, period=period),
                actor=user, request=request)


@transaction.atomic
def cart_add_auto_renew(*, client: Client, today: date, service: Service, user: User,
                        request=None) -> AddResult:
    cart = _lock(client)
    item_quote(ItemSpec(ItemKind.AUTO_RENEW, service), today, client)
    return _add(cart, CartItem(kind=ItemKind.AUTO_RENEW, service=service,
                               period=service.billing_period), actor=user, request=request)


@transaction.atomic
def cart_add_change(*, client: Client, today: date, service: Service, raw_values: dict,
                    new_plan: TariffPlan | None, user: User, request=None) -> AddResult:
    cart = _lock(client)
    plan = new_plan or service.plan
    if new_plan is not None and (new_plan.provider_id != client.provider_id
                                 or not new_plan.is_orderable
                                 or new_plan.product_type != service.plan.product_type
                                 or new_plan.charging != service.plan.charging):
        raise ItemError("The service cannot move to that tariff plan.")
    values = clean_addon_values(plan, raw_values)
    spec = ItemSpec(ItemKind.CHANGE, service, new_plan=new_plan, values=values)
    item_quote(spec, today, client)
    return _add(cart, CartItem(
        kind=ItemKind.CHANGE, service=service, new_plan=new_plan,
        addon_values=values_to_json(values)), actor=user, request=request)


@transaction.atomic
def cart_remove(*, client: Client, item_id: int, user: User, request=None) -> None:
    cart = _lock(client)
    item = cart.items.filter(pk=item_id).select_related("service").first()
    if item is None:
        # Not in this client's cart: gone already, or another client's. The same 404
        # for both, as for any id that is not the client's.
        raise CartItem.DoesNotExist(item_id)
    _discard(item, actor=user)
    log_action(actor=user, action="cart.item_removed", obj=item.service, client=client,
               request=request, details={"kind": item.kind})


def cart_notify(cart: Cart, message: str) -> None:
    CartNotice.objects.create(cart=cart, message=message[:255])


def values_to_json(values: dict[int, AddonValue]) -> dict:
    return {str(k): {"quantity": str(v.quantity), "choice": v.choice_id}
            for k, v in values.items()}


def values_from_json(data: dict) -> dict[int, AddonValue]:
    return {int(k): AddonValue(Decimal(v["quantity"]), v.get("choice"))
            for k, v in (data or {}).items()}


def item_spec(item: CartItem) -> ItemSpec:
    values = values_from_json(item.addon_values) if item.kind == ItemKind.CHANGE else None
    return ItemSpec(item.kind, item.service, period=item.period, new_plan=item.new_plan,
                    values=values, key=str(item.pk))

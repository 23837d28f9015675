"""A paid renewal that a member of staff makes for a client: the order the client's own
renewal would make, priced by the same function and paid from the client's balance
through the ledger. Not enough money on the balance changes nothing."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.actionlog import log_action
from accounts.models import User
from billing.ledger import LedgerError
from cart.checkout import CheckoutError, order_for_services, order_pay_from_balance
from cart.models import ItemKind, Order, OrderStatus
from cart.pricing import ItemError, ItemSpec, quote
from services.actions import ActionNotAllowed
from services.models import Charging, Service, ServiceStatus


class RenewalRefused(ActionNotAllowed):
    """The renewal cannot be made now; the message says why, and nothing changed."""


def _spec(service: Service, period: str) -> ItemSpec:
    if service.plan.charging != Charging.PERIOD or service.status == ServiceStatus.DELETED:
        raise RenewalRefused("This service cannot be renewed.")
    return ItemSpec(ItemKind.RENEWAL, service, period=period)


def staff_renewal_quote(*, service: Service, period: str, now: datetime):
    """What renewing ``service`` for ``period`` costs its client now."""
    try:
        return quote(client=service.client, specs=[_spec(service, period)],
                     today=timezone.localdate(now), when=now)
    except ItemError as error:
        raise RenewalRefused(str(error)) from error


@transaction.atomic
def staff_renewal_pay(*, service: Service, period: str, actor: User, idempotency_key: str,
                      now: datetime, request=None) -> Order:
    """Order the renewal and pay it from the client's balance, in one transaction: the
    same key makes one order, and a refusal (too little money) leaves no order behind."""
    service = Service.objects.select_related("client", "plan").get(pk=service.pk)
    key = f"staff-renewal:{idempotency_key}"
    done = Order.objects.filter(client=service.client, idempotency_key=key,
                                status=OrderStatus.PAID).first()
    if done is not None:  # the same form sent twice
        return done
    try:
        with transaction.atomic():
            order = order_for_services(
                client=service.client, specs=[_spec(service, period)], user=actor,
                idempotency_key=key,
                today=timezone.localdate(now), when=now)
            order = order_pay_from_balance(order=order, user=actor, request=request)
    except (CheckoutError, LedgerError, ItemError) as error:
        raise RenewalRefused(str(error)) from error
    log_action(actor=actor, action="service.renewed_by_staff", obj=service,
               client=service.client, request=request,
               details={"order": order.pk, "period": period, "total": str(order.total),
                        "currency": order.currency})
    return order

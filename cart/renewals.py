"""Auto-renewal of period services, by the billing clock.

N days before expiry (the provider's ``renewal_lead_days``) a service with auto-renewal
on is renewed by an order of one renewal, made without the cart and keyed by the
service and the expiry it renews, so the clock running the day twice renews once. The
order is paid from the balance; when the balance is short and the client has a saved
payment method with autopay on, the missing amount is charged to it first (payments),
then the order is paid from the balance. Renewal moves the expiry by the period exactly
(services.periods: month ends and leap years keep the anchor day).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q

from accounts.models import Provider
from accounts.notifications import notify
from billing.ledger import InsufficientFunds
from cart.checkout import CheckoutError, order_for_services, order_pay_from_balance
from cart.models import ItemKind, Order, OrderStatus
from cart.order_payments import PayChoice, order_pay
from cart.pricing import ItemSpec
from core.days import start_of
from core.money import format_money
from payments.models import OPEN_STATUSES, PaymentPurpose, SavedPaymentMethod
from services.models import Charging, Service, ServiceStatus, SuspendReason

S = ServiceStatus


@dataclass(frozen=True)
class RenewalOutcome:
    service_id: int
    result: str  # "renewed", "pending" (no money yet), "failed" (cannot be priced)
    detail: str = ""


def renewals_due(as_of: date) -> list[Service]:
    """Services with auto-renewal whose renewal is due on ``as_of``: running ones within
    the lead days, and ones already stopped because they expired."""
    due = []
    for provider in Provider.objects.all():
        due.extend(
            Service.objects.filter(
                client__provider=provider, auto_renew=True, plan__charging=Charging.PERIOD,
                expires_on__lte=as_of + timedelta(days=provider.renewal_lead_days))
            .filter(Q(status=S.ACTIVE) | Q(status=S.SUSPENDED, suspend_reason__in=[
                SuspendReason.EXPIRED, SuspendReason.NONPAYMENT]))
            .select_related("client__provider", "plan"))
    return sorted(due, key=lambda service: service.pk)


def renewal_key(service: Service) -> str:
    return f"autorenew:{service.pk}:{service.expires_on}"


def renew(service: Service, as_of: date, *, charge_saved: bool = True) -> RenewalOutcome:
    try:
        order = order_for_services(
            client=service.client, idempotency_key=renewal_key(service), today=as_of,
            when=start_of(as_of),
            specs=[ItemSpec(ItemKind.RENEWAL, service, period=service.billing_period)])
    except CheckoutError as error:
        _failed(service, str(error))
        return RenewalOutcome(service.pk, "failed", str(error))
    if order.status == OrderStatus.PAID:
        return RenewalOutcome(service.pk, "renewed", "already")
    # Short (or a card payment of it still under way): try the card below, or wait.
    with contextlib.suppress(InsufficientFunds, CheckoutError):
        order_pay_from_balance(order=order, user=None, at=start_of(as_of))
    order.refresh_from_db()
    saved = _autopay_method(service)
    if order.status != OrderStatus.PAID and saved is not None and charge_saved:
        # One attempt a day on the card, until the service expires; a decline is reported
        # below through the order still waiting.
        with contextlib.suppress(CheckoutError):
            order_pay(order=order, user=None, purpose=PaymentPurpose.AUTOPAY,
                      choice=PayChoice("saved", saved=saved, use_balance=True),
                      idempotency_key=f"{renewal_key(service)}:{as_of}", at=start_of(as_of))
        order.refresh_from_db()
    if order.status == OrderStatus.PAID:
        service.refresh_from_db()
        notify(client=service.client, event="renewal_done", key=renewal_key(service),
               context={"service": service, "expires_on": service.expires_on,
                        "amount": format_money(order.total_money)})
        return RenewalOutcome(service.pk, "renewed")
    reason = "the balance does not cover it" + (
        f" and {saved.label} was not charged" if saved is not None and charge_saved else "")
    _failed(service, reason)
    return RenewalOutcome(service.pk, "pending", reason)


def _autopay_method(service: Service) -> SavedPaymentMethod | None:
    return (service.client.saved_methods.filter(is_active=True, autopay=True,
                                                method__is_enabled=True)
            .select_related("method").order_by("-is_default", "-created_at").first())


def _failed(service: Service, reason: str) -> None:
    notify(client=service.client, event="renewal_failed", key=f"{renewal_key(service)}:failed",
           context={"service": service, "reason": reason, "expires_on": service.expires_on})


# A payment still open this long after it started protects its services no more: a
# bank transfer nobody makes must not keep a service running for ever.
IN_FLIGHT_DAYS = 3


def services_with_payment_in_flight(as_of: date) -> set[int]:
    """Services whose payment a gateway has not answered yet (started within
    ``IN_FLIGHT_DAYS``): never suspended meanwhile."""
    pending = Order.objects.filter(
        status=OrderStatus.PENDING_PAYMENT, invoice__payments__status__in=OPEN_STATUSES,
        invoice__payments__created_at__date__gte=as_of - timedelta(days=IN_FLIGHT_DAYS))
    return set(pending.values_list("items__service_id", flat=True))

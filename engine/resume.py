"""What money sets in motion for services: renewals that waited for it, then daily services
stopped for debt, in that order. A payment or a promised payment triggers it at once
(``engine.signals``); the beat's job finds the clients whose balance covers again what
was stopped, whatever credited it (a staff credit too), and hands them to the workers in
batches.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Client
from billing.daily import day_amount
from billing.ledger import InsufficientFunds, personal_account
from cart.checkout import CheckoutError, order_pay_from_balance
from cart.models import Order, OrderStatus
from engine.renewals import renew_from_balance
from services.models import Charging, Operation, Service, ServiceStatus, SuspendReason
from services.operations import service_request_many

S = ServiceStatus


def resume_after_payment(client: Client, *, now: datetime) -> list[int]:
    """Pay the client's renewal orders that waited for money (oldest first), renew from
    the balance what is due and was not renewed, then resume its daily services stopped
    for debt. Returns the services renewed or resumed. (It runs when money arrives: its
    moments are the present, ``now``.)"""
    as_of = timezone.localdate(now)
    done = []
    waiting = Order.objects.filter(client=client, status=OrderStatus.PENDING_PAYMENT,
                                   idempotency_key__startswith="autorenew:").order_by("pk")
    for order in waiting:
        # Short, or a card payment of it still under way: it waits for the next money.
        with contextlib.suppress(InsufficientFunds, CheckoutError):
            order_pay_from_balance(order=order, user=None)
            done.extend(order.items.values_list("service_id", flat=True))
    renewed, _short = renew_from_balance(as_of, (client.pk, client.pk), at=now)
    done.extend(renewed.renewed)
    done.extend(resume_paid(client, as_of, now=now))
    return done


def resume_paid(client: Client, as_of: date, *, now: datetime) -> list[int]:
    """Resume, in order, the client's daily services stopped for debt, as long as the
    balance (with the credit limit) pays a day of each. Staff and abuse suspensions are
    never lifted here."""
    resuming = []
    available = personal_account(client).available
    stopped = Service.objects.filter(client=client, status=S.SUSPENDED,
                                     suspend_reason=SuspendReason.NONPAYMENT,
                                     plan__charging=Charging.DAILY).order_by("pk")
    for service in stopped.select_related("client__provider", "plan__provider"):
        amount = day_amount(service, as_of)
        if amount is None or available < amount:
            break
        available -= amount
        resuming.append(service.pk)
    if not resuming:
        return []
    with transaction.atomic():
        moved = service_request_many(
            service_ids=resuming, operation=Operation.RESUME, target=S.ACTIVE, now=now,
            only_from=frozenset({S.SUSPENDED}),
            reasons=dict.fromkeys(resuming, _("Paid: the balance covers it again")))
        Service.objects.filter(pk__in=moved.service_ids).update(unpaid_since=None)
    return moved.service_ids


def clients_to_resume():
    """Clients with services stopped for money that money may lift (daily services stopped
    for debt, auto-renewing services stopped waiting for their renewal) whose balance is
    not negative any more (the beat job looks at these every minute)."""
    stopped_daily = Q(services__plan__charging=Charging.DAILY,
                      services__suspend_reason=SuspendReason.NONPAYMENT)
    waiting_renewal = Q(services__plan__charging=Charging.PERIOD, services__auto_renew=True,
                        services__suspend_reason__in=[SuspendReason.NONPAYMENT,
                                                      SuspendReason.EXPIRED])
    return Client.objects.filter(services__status=S.SUSPENDED).filter(
        stopped_daily | waiting_renewal).filter(
        Q(personal_account__balance__gt=0)
        | Q(personal_account__credit_limit__gt=0)).distinct()


def resume_clients(client_ids: list[int], *, now: datetime) -> int:
    """``resume_after_payment`` for a batch of clients (a beat's task)."""
    count = 0
    for client in Client.objects.filter(pk__in=client_ids).order_by("pk"):
        count += len(resume_after_payment(client, now=now))
    return count

"""Stopping services for money and deleting what stayed unpaid, set-based.

A daily service the balance could not pay today, and a period service whose paid period
ended without renewal, is suspended ("Stopped DATE") with a reason, unless staff put a
hold on it or a payment for it is under way; its grace period counts from that day. A
service still stopped for money after its plan's grace days is deleted. Each goes through
the state machine for many services at once (``services.operations.service_request_many``:
In progress with the module's operation, a history row each), and each client is told
once (``notify_many``, keyed by the service and the day).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.notifications import Notice, notify_many
from core.days import start_of
from services.models import Charging, Operation, Service, ServiceStatus, SuspendReason
from services.operations import service_request_many

S = ServiceStatus
MONEY_REASONS = (SuspendReason.NONPAYMENT, SuspendReason.EXPIRED)

# Period services whose paid period ended by %(day)s, per client (the step's chunks).
EXPIRED_PER_CLIENT = """
    SELECT s.client_id, count(*) AS n FROM services_service s
    JOIN services_tariffplan p ON p.id = s.plan_id AND p.charging = 'period'
    WHERE s.status = 'active' AND s.expires_on <= %(day)s
    GROUP BY s.client_id"""

# Services stopped for money whose grace period ended by %(day)s, per client.
OVERDUE_PER_CLIENT = """
    SELECT s.client_id, count(*) AS n FROM services_service s
    JOIN services_tariffplan p ON p.id = s.plan_id
    WHERE s.status = 'suspended' AND s.suspend_reason IN ('nonpayment', 'expired')
      AND s.unpaid_since IS NOT NULL AND s.unpaid_since + p.grace_days <= %(day)s
    GROUP BY s.client_id"""


def _suspend_for_money(services, as_of: date, protected: set[int] | frozenset, *,
                       reason_code: str, reason: Callable[[Service], str],
                       notice: str) -> list[int]:
    """Stop the running ones among ``services`` (not one held by staff, not one whose
    payment is in flight) and start their grace period."""
    candidates = [service for service in services.filter(status=S.ACTIVE).exclude(
        suspension_hold_until__gte=as_of).select_related("client", "plan").order_by("pk")
        if service.pk not in protected]
    if not candidates:
        return []
    at = start_of(as_of)
    with transaction.atomic():
        moved = service_request_many(
            service_ids=[service.pk for service in candidates], operation=Operation.SUSPENSION,
            target=S.SUSPENDED, suspend_reason=reason_code, now=at,
            only_from=frozenset({S.ACTIVE}),
            reasons={service.pk: reason(service) for service in candidates})
        stopped = set(moved.service_ids)
        Service.objects.filter(pk__in=stopped).update(unpaid_since=as_of)
        notify_many(event="suspended", at=at, notices=[
            Notice(service.client, f"suspended:{service.pk}:{as_of}", {
                "service": service, "reason": notice,
                "delete_on": as_of + timedelta(days=service.plan.grace_days)})
            for service in candidates if service.pk in stopped])
    return moved.service_ids


def suspend_unpaid(service_ids: list[int], as_of: date, *,
                   protected: set[int] | frozenset = frozenset()) -> list[int]:
    """Stop daily services that could not be paid today ("Stopped DATE")."""
    if not service_ids:
        return []
    return _suspend_for_money(
        Service.objects.filter(pk__in=service_ids), as_of, protected,
        reason_code=SuspendReason.NONPAYMENT, notice=_("for non-payment"),
        reason=lambda service: _("Not paid on %(day)s") % {"day": as_of})


def suspend_expired(as_of: date, *, clients: tuple[int, int],
                    protected: set[int] | frozenset = frozenset()) -> list[int]:
    """Stop period services (of the clients ``clients``) whose paid period ended and that
    were not renewed."""
    return _suspend_for_money(
        Service.objects.filter(client__pk__range=clients, plan__charging=Charging.PERIOD,
                               expires_on__lte=as_of), as_of, protected,
        reason_code=SuspendReason.EXPIRED, notice=_("because it expired"),
        reason=lambda service: _("Expired on %(day)s") % {"day": service.expires_on})


def delete_overdue(as_of: date, *, clients: tuple[int, int]) -> list[int]:
    """Delete services (of the clients ``clients``) stopped for debt or expiry longer than
    their plan's grace period."""
    stopped = [service for service in Service.objects.filter(
        Q(client__pk__range=clients), status=S.SUSPENDED, suspend_reason__in=MONEY_REASONS,
        unpaid_since__isnull=False).select_related("client", "plan").order_by("pk")
        if service.unpaid_since + timedelta(days=service.plan.grace_days) <= as_of]
    if not stopped:
        return []
    at = start_of(as_of)
    with transaction.atomic():
        moved = service_request_many(
            service_ids=[service.pk for service in stopped], operation=Operation.DELETION,
            target=S.DELETED, now=at, only_from=frozenset({S.SUSPENDED}),
            reasons={service.pk: _("Unpaid since %(day)s") % {"day": service.unpaid_since}
                     for service in stopped})
        deleted = set(moved.service_ids)
        notify_many(event="deleted", at=at, notices=[
            Notice(service.client, f"deleted:{service.pk}", {"service": service})
            for service in stopped if service.pk in deleted])
    return moved.service_ids

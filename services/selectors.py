"""Reads of the services layer. Everything a client sees is scoped to its client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from djmoney.money import Money

from accounts.models import Client
from core.money import money_sum, round_money
from services.models import (
    Addon,
    AddonKind,
    Service,
    ServiceAddon,
    ServiceOperation,
    ServiceStatus,
    ServiceUsage,
)

S = ServiceStatus
# A client is Active while it has at least one service in these statuses (seeds:
# "Active — the client has active services").
LIVE_STATUSES = (S.ACTIVE,)
# Services shown in the "Active services" widget: the ones that run for the client,
# including stopped ones (their row says "Stopped DATE") and running ones busy with an
# operation; not the ones still being ordered or activated for the first time.
WIDGET_FILTER = Q(status__in=(S.ACTIVE, S.SUSPENDED, S.SUSPENDED_BY_ADMIN, S.SUSPENDED_ABUSE)) \
    | Q(status=S.IN_PROGRESS, activated_at__isnull=False)


def clients_with_status(queryset: QuerySet[Client]) -> QuerySet[Client]:
    """Annotate ``is_active``: whether the client has an active service."""
    live = Service.objects.filter(client=OuterRef("pk"), status__in=LIVE_STATUSES)
    return queryset.annotate(is_active=Exists(live))


def client_is_active(client: Client) -> bool:
    return Service.objects.filter(client=client, status__in=LIVE_STATUSES).exists()


def _with_prices(queryset: QuerySet[Service]) -> QuerySet[Service]:
    """What the list, the widgets and renewal costs read, in a fixed number of queries."""
    addons = Addon.objects.select_related("plan__provider").prefetch_related("prices")
    return queryset.select_related("plan__provider").prefetch_related(
        "plan__prices",
        Prefetch("plan__addons", queryset=addons),
        Prefetch("addon_values", queryset=ServiceAddon.objects.select_related(
            "addon__unit", "addon__plan__provider", "choice").prefetch_related("addon__prices")),
    )


def service_list(*, client: Client, product_type: str = "", status: str = "",
                 service_id: int | None = None, include_deleted: bool = False
                 ) -> QuerySet[Service]:
    services = Service.objects.filter(client=client)
    if not include_deleted and status != S.DELETED:
        services = services.exclude(status=S.DELETED)
    if product_type:
        services = services.filter(plan__product_type=product_type)
    if status:
        services = services.filter(status=status)
    if service_id:
        services = services.filter(pk=service_id)
    return _with_prices(services)


def service_get(*, client: Client, pk: int) -> Service:
    """The client's service, or 404: another client's service does not exist for it."""
    return get_object_or_404(_with_prices(Service.objects.filter(client=client)), pk=pk)


def widget_services(*, client: Client, limit: int = 10) -> QuerySet[Service]:
    return _with_prices(Service.objects.filter(WIDGET_FILTER, client=client))[:limit]


@dataclass(frozen=True)
class Overage:
    service: Service
    cost: Money


def service_overages(*, client: Client, today: date, limit: int = 10) -> list[Overage]:
    """Services whose metered addons went over the included amount in the period that
    contains ``today``, with the overage cost so far (seeds: "Services with overages")."""
    usage = (ServiceUsage.objects
             .filter(service__client=client, period_start__lte=today, period_end__gt=today,
                     addon__kind=AddonKind.METERED)
             .select_related("addon__plan__provider", "service__plan__provider"))
    costs: dict[int, list[Money]] = {}
    services: dict[int, Service] = {}
    for record in usage:
        over = record.quantity - record.addon.included
        if over <= 0 or record.addon.overage_price is None:
            continue
        costs.setdefault(record.service_id, []).append(
            round_money(record.addon.overage_price * Decimal(over)))
        services[record.service_id] = record.service
    overages = [Overage(services[pk], money_sum(amounts, services[pk].plan.currency))
                for pk, amounts in costs.items()]
    return sorted(overages, key=lambda o: o.service.pk)[:limit]


def current_operations() -> QuerySet[ServiceOperation]:
    """Operations not finished yet: what staff watch in 'Current operations'."""
    return (ServiceOperation.objects
            .filter(status__in=["pending", "waiting", "running", "failed"])
            .select_related("service__client", "service__plan"))

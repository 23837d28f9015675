"""Reads of the services layer."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import Client
from services.models import Service, ServiceStatus

# A client is Active while it has at least one service in these statuses (seeds:
# "Active — the client has active services").
LIVE_STATUSES = (ServiceStatus.ACTIVE,)


def clients_with_status(queryset: QuerySet[Client]) -> QuerySet[Client]:
    """Annotate ``is_active``: whether the client has an active service."""
    live = Service.objects.filter(client=OuterRef("pk"), status__in=LIVE_STATUSES)
    return queryset.annotate(is_active=Exists(live))


def client_is_active(client: Client) -> bool:
    return Service.objects.filter(client=client, status__in=LIVE_STATUSES).exists()

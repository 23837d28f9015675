"""Writes of the catalog that other parts of the platform must hear about."""

from __future__ import annotations

from django.db import transaction

from services.models import Addon, ServiceAddon, ServiceStatus


@transaction.atomic
def addon_delete(addon: Addon) -> None:
    """Delete an addon. It is first withdrawn (saved inactive), so that what listens to
    catalog changes (carts) drops unpaid orders that use it; the values of services never
    activated go with it. A service that runs with it keeps the addon from deletion
    (ProtectedError): withdraw it instead."""
    if addon.is_active:
        addon.is_active = False
        addon.save(update_fields=["is_active"])
    ServiceAddon.objects.filter(
        addon=addon, service__activated_at__isnull=True,
        service__status__in=[ServiceStatus.ORDERED, ServiceStatus.DELETED]).delete()
    addon.delete()

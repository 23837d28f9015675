"""The billing clock's past days for the demo. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Client
from engine import clock
from engine.models import BillingDay
from services.models import Charging


def seed() -> None:
    """Run the billing clock over the days the demo services have lived, up to yesterday,
    so the daily server already shows a charge a day; beat runs today's once `make run`
    is up."""
    if BillingDay.objects.exists():
        return
    first = (Client.objects.get(email="client@example.com").services
             .filter(plan__charging=Charging.DAILY, activated_at__isnull=False)
             .order_by("activated_at").values_list("activated_at", flat=True).first())
    if first is None:
        return
    day = timezone.localdate(first)
    while day < timezone.localdate():
        clock.run_day(day)
        day += timedelta(days=1)

"""Days as moments: the billing clock works in days, and what it writes carries the
moment its day began (in the project's time zone), never the wall clock, so a replayed
day writes that day's dates."""

from __future__ import annotations

from datetime import date, datetime, time

from django.utils import timezone


def start_of(day: date) -> datetime:
    """Midnight at the start of ``day``, in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))

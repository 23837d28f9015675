"""Who else has a ticket open: each open staff page polls every POLL_SECONDS and is counted
as present for WINDOW after its last poll (a closed tab drops out by itself).

The wall clock is never read here: callers pass ``now``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet

from accounts.models import User
from support.models import Ticket, TicketPresence

POLL_SECONDS = 10
# Three polls: one late or lost request does not make a colleague vanish.
WINDOW = timedelta(seconds=3 * POLL_SECONDS)


def presence_record(*, ticket: Ticket, user: User, replying: bool, now: datetime) -> None:
    """One statement per poll (an upsert): a page's polls never race into two rows. Rows
    past the window go with it, so the table holds only who is here now."""
    TicketPresence.objects.bulk_create(
        [TicketPresence(ticket=ticket, user=user, seen_at=now, replying=replying)],
        update_conflicts=True, unique_fields=["ticket", "user"],
        update_fields=["seen_at", "replying"])
    TicketPresence.objects.filter(seen_at__lt=now - WINDOW).delete()


def others_present(*, ticket: Ticket, user: User, now: datetime) -> QuerySet[TicketPresence]:
    return (TicketPresence.objects.filter(ticket=ticket, seen_at__gte=now - WINDOW)
            .exclude(user=user).select_related("user").order_by("user__name", "user__email"))

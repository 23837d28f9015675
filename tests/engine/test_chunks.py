"""The day's due services split into chunks: every due client in exactly one chunk, a
client never split, and chunks of about the asked size."""

from datetime import UTC, datetime
from itertools import pairwise

import pytest

from accounts.models import Client
from billing.daily import DUE_PER_CLIENT
from engine.chunks import client_ranges
from engine.steps import plan_params
from services.models import Service, ServiceStatus
from tests.engine.conftest import START
from tests.factories.services import DailyPlanFactory

ACTIVATED = datetime(2026, 12, 1, tzinfo=UTC)


def chunks(day, *, size):
    return client_ranges(DUE_PER_CLIENT, plan_params(day), size=size)


@pytest.mark.parametrize(("services_per_client", "size", "expected_chunks"), [
    ([10] * 30, 20, 15),            # two clients a chunk
    ([10] * 30, 1000, 1),           # all in one
    ([1] * 7, 3, 3),                # 3 + 3 + 1
    ([25, 1, 1, 1], 10, 2),         # a big client is never split; the rest share a chunk
    ([0, 5, 0, 5, 0, 5], 5, 3),     # clients with nothing due are no chunk's concern
])
def test_chunks_cover_every_due_client_once(world, services_per_client, size,
                                            expected_chunks):
    plan = DailyPlanFactory(provider=world["provider"])
    clients = Client.objects.bulk_create(
        [Client(provider=world["provider"], name=f"c{i}", email=f"c{i}@example.com")
         for i in range(len(services_per_client))])
    Service.objects.bulk_create([
        Service(client=client, plan=plan, name=f"s{client.pk}-{n}", billing_period="day",
                status=ServiceStatus.ACTIVE, activated_at=ACTIVATED)
        for client, count in zip(clients, services_per_client, strict=True)
        for n in range(count)])
    due = sorted(c.pk for c, n in zip(clients, services_per_client, strict=True) if n)

    ranges = chunks(START, size=size)

    assert len(ranges) == expected_chunks
    covered = [pk for lo, hi in ranges for pk in due if lo <= pk <= hi]
    assert covered == due
    assert all(lo <= hi for lo, hi in ranges)
    assert all(a[1] < b[0] for a, b in pairwise(ranges))

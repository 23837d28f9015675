"""A worker killed in the middle of a day's run: the run is repeated, every due service is
charged exactly once, and the books balance."""

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from celery import group
from django.db.models import Count

from accounts.models import Client
from billing.audit import audit
from billing.charging import chunks
from billing.ledger import personal_account
from billing.models import Charge
from billing.tasks import charge_daily_chunk
from cart.tasks import run_chunks_on_workers
from services.models import Service, ServiceStatus
from tests.celery_worker import kill_hard, running_worker
from tests.clock.conftest import START
from tests.factories.billing import top_up
from tests.factories.services import DailyPlanFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
CLIENTS, PER_CLIENT = 150, 10


def test_a_killed_worker_loses_and_doubles_nothing(provider):
    plan = DailyPlanFactory(provider=provider)
    clients = Client.objects.bulk_create(
        [Client(provider=provider, name=f"c{i}", email=f"c{i}@example.com")
         for i in range(CLIENTS)])
    activated = datetime(2026, 12, 1, tzinfo=UTC)
    Service.objects.bulk_create([
        Service(client=client, plan=plan, name=f"s{client.pk}-{n}", billing_period="day",
                status=ServiceStatus.ACTIVE, activated_at=activated)
        for client in clients for n in range(PER_CLIENT)])
    for client in clients:
        top_up(client, "100.00")
    ranges = chunks(START, size=PER_CLIENT * 2)  # 75 small chunks
    total = CLIENTS * PER_CLIENT

    with running_worker() as worker:
        group(charge_daily_chunk.s(START.isoformat(), lo, hi) for lo, hi in ranges).apply_async()
        deadline = time.monotonic() + 60
        while not (0 < Charge.objects.count() < total // 2) and time.monotonic() < deadline:
            time.sleep(0.01)
        kill_hard(worker)
    charged_before_repeat = Charge.objects.count()
    assert 0 < charged_before_repeat < total, "the kill did not fall in the middle of the run"

    with running_worker(concurrency=2):
        results = run_chunks_on_workers(START, chunks(START, size=PER_CLIENT * 2))

    assert Charge.objects.count() == total
    # The repeat charged what the kill left (less what the first run's leftover messages,
    # redelivered to the new worker, charged first): never more.
    assert sum(r.charged for r in results) <= total - charged_before_repeat
    assert not Charge.objects.values("service_id").annotate(n=Count("id")).filter(n__gt=1)
    for client in clients[:10]:
        assert personal_account(client).balance == Decimal("90.00")
    assert audit() == []

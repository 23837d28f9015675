"""The distributed clock on real Celery worker processes: the beat's tick runs the days owed
on the workers (a day after downtime each in order), billing_run --workers waits for
them, the low-balance reminder goes out on the worker path, resume_paid_services hands
clients to the workers, and a worker killed in the middle of the day (renewals and
charges in flight) loses and doubles nothing."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone

from accounts.models import Client, Notification
from billing.audit import audit
from billing.ledger import personal_account
from billing.models import Charge, ChargeKind
from engine import clock, coordinator, tasks
from engine.models import BillingDay, DayStatus, Runner
from services.models import Service, ServiceStatus, SuspendReason
from tests.celery_worker import kill_hard, running_worker
from tests.factories.billing import set_credit_limit, top_up
from tests.factories.services import ServiceFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait_for(predicate, timeout=120, every=None, poll=0.2):
    """Until ``predicate()``; ``every`` is called on the way (the beat's tick, at most
    once a second)."""
    deadline = time.monotonic() + timeout
    ticked = 0.0
    while time.monotonic() < deadline:
        if predicate():
            return True
        if every is not None and time.monotonic() - ticked > 1:
            every()
            ticked = time.monotonic()
        time.sleep(poll)
    return False


def _finished(*days):
    return lambda: BillingDay.objects.filter(day__in=days,
                                             status=DayStatus.FINISHED).count() == len(days)


def _active_daily(world, client, days_before=30):
    return ServiceFactory(client=client, plan=world["per_day"], billing_period="day",
                          status=ServiceStatus.ACTIVE,
                          activated_at=datetime.now(UTC) - timedelta(days=days_before))


def test_the_tick_runs_the_days_owed_on_the_workers_in_order(world):
    today = timezone.localdate()
    rich = world["client"]()
    top_up(rich, "100.00")
    daily = _active_daily(world, rich)
    site = ServiceFactory(client=rich, plan=world["monthly"], billing_period="month",
                          status=ServiceStatus.ACTIVE, auto_renew=True,
                          expires_on=today + timedelta(days=2),
                          anchor_day=(today + timedelta(days=2)).day,
                          activated_at=datetime.now(UTC) - timedelta(days=30))
    low = world["client"]()  # 3.00 pays three days: fewer than the provider's notice
    top_up(low, "3.00")
    _active_daily(world, low)
    BillingDay.objects.create(day=today - timedelta(days=4), status=DayStatus.FINISHED,
                              finished_at=timezone.now(), run=1, owed=True)
    owed = [today - timedelta(days=n) for n in (3, 2, 1, 0)]

    with running_worker(concurrency=2) as worker:
        tasks.billing_tick.delay()
        done = _wait_for(_finished(*owed))
        sent = _wait_for(lambda: Notification.objects.filter(
            client=low, event="low_balance", sent_at__isnull=False).exists())

    assert done, (list(BillingDay.objects.values_list("day", "status", "step")),
                  worker.log_path.read_text()[-3000:])
    assert sent, worker.log_path.read_text()[-3000:]
    days = list(BillingDay.objects.filter(day__in=owed).order_by("day"))
    assert [d.started_at for d in days] == sorted(d.started_at for d in days)
    assert all(d.runner == Runner.WORKERS for d in days)
    assert [c.period_start for c in Charge.objects.filter(service=daily).order_by(
        "period_start")] == owed
    renewal = Charge.objects.get(service=site, kind=ChargeKind.RENEWAL)
    assert renewal.period_start == today + timedelta(days=2)
    assert audit() == []


def test_billing_run_with_workers_waits_for_them(world):
    day = timezone.localdate() - timedelta(days=1)
    client = world["client"]()
    top_up(client, "10.00")
    service = _active_daily(world, client)

    with running_worker(concurrency=2) as worker:
        call_command("billing_run", "--from", str(day), "--workers")

    assert BillingDay.objects.get(day=day).status == DayStatus.FINISHED, \
        worker.log_path.read_text()
    assert Charge.objects.get(service=service).period_start == day
    assert personal_account(client).balance == Decimal("9.00")


def test_the_beat_resumes_on_the_workers_what_money_covers_again(world):
    client = world["client"]()
    stopped = _active_daily(world, client)
    Service.objects.filter(pk=stopped.pk).update(status=ServiceStatus.SUSPENDED,
                                                 suspend_reason=SuspendReason.NONPAYMENT)
    set_credit_limit(client, "5.00")  # staff give credit: no payment signals it

    with running_worker() as worker:
        assert tasks.resume_paid_services.delay().get(timeout=60) == 1
        resumed = _wait_for(lambda: Service.objects.get(pk=stopped.pk).status
                            == ServiceStatus.ACTIVE)

    assert resumed, worker.log_path.read_text()


CLIENTS = 120


@override_settings(CLOCK_CHUNK_SIZE=8, CLOCK_CHUNK_LEASE_SECONDS=3)
def test_a_worker_killed_mid_day_loses_and_doubles_nothing(world):
    """Each client has two daily servers and a site due for renewal; the day runs in
    chunks of eight on one worker, which is killed while the renewals are half done and
    a second one while the daily charges are; the beat's tick hands the dead workers'
    chunks to a new one when their lease runs out. Every due service is renewed once and
    charged once, and running the day again changes nothing."""
    day = timezone.localdate()
    clients = Client.objects.bulk_create([
        Client(provider=world["provider"], name=f"c{i}", email=f"c{i}@example.com")
        for i in range(CLIENTS)])
    activated = datetime.now(UTC) - timedelta(days=30)
    Service.objects.bulk_create(
        [Service(client=client, plan=world["per_day"], name=f"vps-{client.pk}-{n}",
                 billing_period="day", status=ServiceStatus.ACTIVE, activated_at=activated)
         for client in clients for n in range(2)]
        + [Service(client=client, plan=world["monthly"], name=f"site-{client.pk}",
                   billing_period="month", status=ServiceStatus.ACTIVE, auto_renew=True,
                   expires_on=day + timedelta(days=1), anchor_day=(day + timedelta(days=1)).day,
                   activated_at=activated) for client in clients])
    for client in clients:
        top_up(client, "50.00")
    environment = {"CLOCK_CHUNK_SIZE": "8", "CLOCK_CHUNK_LEASE_SECONDS": "3"}
    renewals = Charge.objects.filter(kind=ChargeKind.RENEWAL)
    dailies = Charge.objects.filter(kind=ChargeKind.DAILY)

    with running_worker(extra_env=environment) as worker:
        tasks.billing_tick.delay()
        assert _wait_for(lambda: 0 < renewals.count() < CLIENTS, timeout=60, poll=0.005), \
            worker.log_path.read_text()
        kill_hard(worker)
    assert renewals.count() < CLIENTS, "the kill did not fall in the middle of renewals"

    with running_worker(extra_env=environment) as worker:
        assert _wait_for(lambda: 0 < dailies.count() < 2 * CLIENTS, timeout=120,
                         every=tasks.billing_tick, poll=0.005), worker.log_path.read_text()
        kill_hard(worker)
    assert dailies.count() < 2 * CLIENTS, "the kill did not fall in the middle of charges"

    with running_worker(concurrency=2, extra_env=environment) as worker:
        done = _wait_for(_finished(day), timeout=180, every=tasks.billing_tick)
    assert done, worker.log_path.read_text()

    assert renewals.count() == CLIENTS
    assert dailies.count() == 2 * CLIENTS
    for charges in (renewals, dailies):
        assert not charges.values("service_id").annotate(n=Count("id")).filter(n__gt=1)
    for client in clients[:5]:
        assert personal_account(client).balance == Decimal("50.00") - Decimal("10.00") \
            - Decimal("2.00")
    assert audit() == []

    again = clock.run_day(day)
    assert (again.charged, again.renewed) == (0, [])
    assert renewals.count() == CLIENTS
    assert dailies.count() == 2 * CLIENTS
    assert coordinator.owed_days(day) == []

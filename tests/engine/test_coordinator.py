"""The day's coordination in the database: which days are owed, days in order, a step
planned once and finished when all its chunks are, a dead worker's chunk handed out again
and charging nothing twice, a failing chunk kept for another try, two ticks never running
a day twice, and billing_run refusing a day that has not begun unless told --future (and
then leaving no hole)."""

import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone

from billing.ledger import personal_account
from billing.models import Charge, ChargeKind
from core.days import start_of
from engine import clock, coordinator, tasks
from engine.models import BillingDay, ChunkStatus, DayChunk, DayStatus, Runner
from services.models import ServiceStatus
from tests.engine.conftest import START
from tests.factories.billing import top_up
from tests.factories.services import ServiceFactory

pytestmark = pytest.mark.django_db
D = START + timedelta(days=11)  # not a 1st: no closing documents in the way
NOW = datetime(2027, 6, 1, 12, tzinfo=UTC)


def _day(day, status, **fields):
    """A recorded day: "finished" (the clock's own), "ran" (finished by an operator),
    "queued" or "running"."""
    owed = status != "ran"
    status = DayStatus.FINISHED if status == "ran" else status
    return BillingDay.objects.create(day=day, status=status, run=1, owed=owed,
                                     finished_at=NOW if status == DayStatus.FINISHED else None,
                                     **fields)


def _daily(world, client=None, balance="100.00", since=D):
    client = client or world["client"]()
    top_up(client, balance)
    return ServiceFactory(client=client, plan=world["per_day"], billing_period="day",
                          status=ServiceStatus.ACTIVE,
                          activated_at=datetime.combine(since - timedelta(days=30), time(12),
                                                        tzinfo=UTC))


@pytest.mark.parametrize(("days", "until", "owed"), [
    ({}, 5, [5]),                                            # a new installation: today
    ({0: "finished"}, 3, [1, 2, 3]),                          # three days of downtime
    ({0: "finished", 2: "ran", 3: "ran"}, 3, [1]),            # a run ahead left a hole
    ({0: "finished", 2: "finished"}, 3, [1, 3]),              # a hole the clock left
    ({10: "ran", 20: "finished"}, 21, [21]),                  # replays before it began
    ({0: "finished", 1: "queued", 2: "finished"}, 2, [1]),    # queued and never run
    ({0: "finished", 1: "running"}, 1, [1]),                  # stopped half-way
    ({0: "finished"}, 0, []),                                 # nothing owed
    ({4: "queued"}, 2, [2]),                                  # a day ahead is not owed yet
])
def test_the_days_owed(days, until, owed):
    for offset, status in days.items():
        _day(D + timedelta(days=offset), status)

    assert coordinator.owed_days(D + timedelta(days=until)) == [
        D + timedelta(days=offset) for offset in owed]


def test_catching_up_after_three_days_down_runs_each_day_in_order(world):
    service = _daily(world)
    clock.catch_up(D)  # the clock's first day

    reports = clock.catch_up(D + timedelta(days=3))

    assert [report.day for report in reports] == [D + timedelta(days=n) for n in (1, 2, 3)]
    days = list(BillingDay.objects.order_by("day"))
    assert [d.status for d in days] == [DayStatus.FINISHED] * 4
    assert [d.started_at for d in days] == sorted(d.started_at for d in days)
    charged = Charge.objects.filter(service=service).order_by("pk")
    assert [c.period_start for c in charged] == [D + timedelta(days=n) for n in range(4)]
    assert clock.catch_up(D + timedelta(days=3)) == []


def test_a_day_does_not_start_before_an_earlier_one_finishes(world):
    earlier = coordinator.day_queue(D, runner=Runner.WORKERS, now=NOW)
    later = coordinator.day_queue(D + timedelta(days=1), runner=Runner.WORKERS, now=NOW)

    assert coordinator.day_start(later.pk, now=NOW) == []
    later.refresh_from_db()
    assert later.status == DayStatus.QUEUED
    coordinator.day_start(earlier.pk, now=NOW)
    assert coordinator.day_start(earlier.pk, now=NOW) == []  # started once
    earlier.refresh_from_db()
    assert (earlier.status, earlier.run) in {(DayStatus.RUNNING, 1), (DayStatus.FINISHED, 1)}


@pytest.fixture
def small_chunks():
    with override_settings(CLOCK_CHUNK_SIZE=2):
        yield


def _run_chunks(record, order=None):
    """Do the current step's chunks (in ``order`` of their places) as workers would."""
    chunks = list(DayChunk.objects.filter(day=record, run=record.run, step=record.step)
                  .order_by("seq"))
    for chunk in (chunks if order is None else [chunks[i] for i in order]):
        coordinator.chunk_run(chunk.pk, now=lambda: NOW)


def test_a_step_ends_when_its_last_chunk_is_done_whatever_the_order(world, small_chunks):
    services = [_daily(world) for _ in range(6)]  # three chunks of two clients
    record = coordinator.day_queue(D, runner=Runner.WORKERS, now=NOW)
    first = coordinator.day_start(record.pk, now=NOW)
    record.refresh_from_db()
    assert (record.step, len(first)) == ("daily", 3)

    _run_chunks(record, order=[2, 0])
    record.refresh_from_db()
    assert (record.status, record.step) == (DayStatus.RUNNING, "daily")
    _run_chunks(record)  # the one left (the others are done: nothing twice)
    record.refresh_from_db()

    assert record.status == DayStatus.FINISHED
    assert record.stats["charged"] == 6
    assert Charge.objects.filter(service__in=services).count() == 6


def test_a_dead_workers_chunk_is_handed_out_again_after_its_lease_and_charges_once(
        world, small_chunks):
    services = [_daily(world) for _ in range(4)]
    record = coordinator.day_queue(D, runner=Runner.WORKERS, now=NOW)
    coordinator.day_start(record.pk, now=NOW)
    record.refresh_from_db()
    lost, other = DayChunk.objects.filter(day=record).order_by("seq")
    # A worker claims the first chunk, charges it, and dies before it says so.
    assert coordinator.chunk_claim(lost.pk, now=NOW) is not None
    from billing.daily import charge_daily_chunk

    charge_daily_chunk(D, lost.lo, lost.hi)
    coordinator.chunk_run(other.pk, now=lambda: NOW)

    lease = coordinator.lease()
    assert coordinator.day_watch(now=NOW + lease / 2) == []  # still its worker's
    assert coordinator.chunk_claim(lost.pk, now=NOW + lease / 2) is None
    assert coordinator.day_watch(now=NOW + lease * 2) == [lost.pk]
    coordinator.chunk_run(lost.pk, now=lambda: NOW + lease * 2)

    record.refresh_from_db()
    assert record.status == DayStatus.FINISHED
    for service in services:
        assert Charge.objects.filter(service=service).count() == 1
    assert personal_account(services[0].client).balance == Decimal("99.00")
    assert DayChunk.objects.get(pk=lost.pk).attempts == 2


def test_a_chunk_that_fails_is_kept_for_another_try(world, small_chunks, monkeypatch):
    _daily(world)
    record = coordinator.day_queue(D, runner=Runner.WORKERS, now=NOW)
    (chunk_id,) = coordinator.day_start(record.pk, now=NOW)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("engine.steps.daily.charge_daily_chunk", broken)
    with pytest.raises(RuntimeError):
        coordinator.chunk_run(chunk_id, now=lambda: NOW)
    chunk = DayChunk.objects.get(pk=chunk_id)
    assert (chunk.status, chunk.error) == (ChunkStatus.PENDING,
                                           "RuntimeError: the database went away")
    monkeypatch.undo()

    assert coordinator.day_watch(now=NOW + coordinator.lease() * 2) == [chunk_id]
    coordinator.chunk_run(chunk_id, now=lambda: NOW)
    record.refresh_from_db()
    assert record.status == DayStatus.FINISHED


def test_running_a_day_again_changes_nothing_and_keeps_what_it_did(world):
    service = _daily(world)

    first = clock.run_day(D)
    again = clock.run_day(D)

    assert (first.charged, again.charged) == (1, 0)
    record = BillingDay.objects.get(day=D)
    assert (record.run, record.stats["charged"]) == (2, 1)
    assert Charge.objects.filter(service=service).count() == 1


def test_a_dry_run_leaves_no_day_behind(world):
    _daily(world)

    report = clock.run_day(D, dry_run=True)

    assert report.charged == 1
    assert not BillingDay.objects.exists()
    assert not Charge.objects.exists()


def test_a_tick_queues_the_days_owed_and_starts_the_first(world, monkeypatch):
    handed_out = []
    monkeypatch.setattr(tasks, "dispatch", handed_out.extend)
    _daily(world)
    _day(D - timedelta(days=1), DayStatus.FINISHED)

    owed = tasks.tick(D + timedelta(days=1), NOW)

    assert owed == [str(D), str(D + timedelta(days=1))]
    first, second = BillingDay.objects.filter(day__gte=D).order_by("day")
    assert (first.status, second.status) == (DayStatus.RUNNING, DayStatus.QUEUED)
    assert handed_out == list(DayChunk.objects.filter(day=first).values_list("pk", flat=True))
    # The workers finish the first day: its last chunk starts the second one.
    for chunk_id in list(handed_out):
        handed_out.extend(coordinator.chunk_run(chunk_id, now=lambda: NOW))
    second.refresh_from_db()
    assert second.status == DayStatus.RUNNING
    assert tasks.tick(D + timedelta(days=1), NOW) == [str(D + timedelta(days=1))]


@pytest.mark.django_db(transaction=True)
def test_a_tick_steps_aside_while_another_holds_the_clock():
    held, release = threading.Event(), threading.Event()

    def other_tick():
        with tasks.clock_lock(wait=False) as got:
            assert got
            held.set()
            release.wait(30)
        connections.close_all()

    thread = threading.Thread(target=other_tick)
    thread.start()
    try:
        assert held.wait(30)
        assert tasks.billing_tick() == []
        assert not BillingDay.objects.exists()
    finally:
        release.set()
        thread.join(30)
    connection.close()


def test_billing_run_refuses_a_day_that_has_not_begun():
    today = timezone.localdate()

    with pytest.raises(CommandError, match="--future"):
        call_command("billing_run", "--from", str(today + timedelta(days=2)))
    assert not BillingDay.objects.exists()


def test_billing_run_of_future_days_runs_the_days_before_them_first(world):
    today = timezone.localdate()
    service = _daily(world, since=today)
    clock.catch_up(today)  # the beat ran today

    call_command("billing_run", "--from", str(today + timedelta(days=2)), "--to",
                 str(today + timedelta(days=3)), "--future")

    days = [today + timedelta(days=n) for n in range(4)]
    assert list(BillingDay.objects.order_by("day").values_list("day", "status")) == [
        (day, DayStatus.FINISHED) for day in days]
    assert [c.period_start for c in Charge.objects.filter(
        service=service, kind=ChargeKind.DAILY).order_by("period_start")] == days
    assert coordinator.owed_days(today + timedelta(days=1)) == []


def test_billing_run_replays_days_here_in_order(world):
    past = date(2026, 6, 10)
    service = _daily(world, since=past)
    clock.run_day(past)

    call_command("billing_run", "--from", str(past), "--to", str(past + timedelta(days=1)))

    assert [c.period_start for c in Charge.objects.filter(service=service)
            .order_by("period_start")] == [past, past + timedelta(days=1)]
    assert BillingDay.objects.get(day=past).run == 2


def test_billing_run_writes_the_days_it_runs_not_today(world):
    past = date(2026, 6, 10)
    service = _daily(world, since=past)

    call_command("billing_run", "--from", str(past), "--to", str(past))

    charge = Charge.objects.get(service=service)
    assert charge.created_at == start_of(past)

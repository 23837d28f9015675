"""The day's coordination, in the database: which days are owed, which step runs, which
chunks are done. No task waits on another task.

* ``day_queue`` puts a day in the queue; ``day_start`` starts it (a new run of it) and
  plans its first step with work.
* A step is planned by cutting it into chunks (``engine.steps``); each chunk is handed to
  a worker, which claims it (``chunk_claim``: running, with a lease), does it, and marks it
  done (``chunk_done``) under the day's row lock. The worker that marks a step's last
  chunk done plans the next step; the one that marks the last step's last chunk done
  finishes the day and starts the next queued one. The functions return the chunks to
  hand out; the caller (a Celery task, or the in-process loop of ``engine.clock``) does.
* A chunk whose worker died keeps its lease until it runs out, and a chunk whose message
  was lost stays pending: ``day_watch`` (the beat's tick) hands both out again. Chunks are
  idempotent, so a chunk run twice charges, renews and mails nothing twice.

Every function takes the present (``now``) from its caller.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Min, Q

from engine import steps
from engine.models import BillingDay, ChunkStatus, DayChunk, DayStatus, Runner

logger = logging.getLogger(__name__)


def lease() -> timedelta:
    return timedelta(seconds=settings.CLOCK_CHUNK_LEASE_SECONDS)


# Which days --------------------------------------------------------------------------------
def owed_days(until: date) -> list[date]:
    """The days the clock owes up to ``until``, in order: every day not finished from the
    first day it queued by itself (a new installation starts with ``until``), and any
    earlier day queued or started and not finished. A day an operator ran ahead of time,
    or a replay, does not hide a day before it that never ran."""
    first = BillingDay.objects.filter(owed=True).aggregate(first=Min("day"))["first"]
    owed = set(BillingDay.objects.filter(day__lte=until).exclude(
        status=DayStatus.FINISHED).values_list("day", flat=True))
    day = min(first, until) if first is not None else until
    finished = set(BillingDay.objects.filter(day__gte=day, day__lte=until,
                                             status=DayStatus.FINISHED)
                   .values_list("day", flat=True))
    while day <= until:
        if day not in finished:
            owed.add(day)
        day += timedelta(days=1)
    return sorted(owed)


def day_queue(day: date, *, runner: str, now: datetime, again: bool = False,
              charge_saved: bool = True, owed: bool = False) -> BillingDay:
    """Put ``day`` in the queue (``again``: also when it is finished, to run it again;
    ``owed``: the clock queues it by itself). A day running already is left to its run."""
    try:
        with transaction.atomic():
            record, _ = BillingDay.objects.get_or_create(day=day, defaults={
                "runner": runner, "charge_saved": charge_saved, "queued_at": now,
                "owed": owed})
    except IntegrityError:  # queued by another at the same moment
        record = BillingDay.objects.get(day=day)
    with transaction.atomic():
        record = BillingDay.objects.select_for_update().get(pk=record.pk)
        if owed and not record.owed:
            record.owed = True
            record.save(update_fields=["owed"])
        if record.status == DayStatus.RUNNING or (record.status == DayStatus.FINISHED
                                                  and not again):
            return record
        record.status, record.runner, record.charge_saved = (DayStatus.QUEUED, runner,
                                                             charge_saved)
        record.queued_at = now
        record.save(update_fields=["status", "runner", "charge_saved", "queued_at"])
    return record


def next_queued(*, until: date | None = None, runner: str | None = None) -> BillingDay | None:
    days = BillingDay.objects.filter(status=DayStatus.QUEUED)
    if until is not None:
        days = days.filter(day__lte=until)
    if runner is not None:
        days = days.filter(runner=runner)
    return days.order_by("day").first()


def running_day() -> BillingDay | None:
    return BillingDay.objects.filter(status=DayStatus.RUNNING).order_by("day").first()


# Starting a day, and its steps ---------------------------------------------------------------
def day_start(record_id: int, *, now: datetime, runner: str | None = None) -> list[int]:
    """Start a new run of a queued day: returns the chunks of its first step with work
    (none if another started it first). Days run one at a time, in order: a day does not
    start while an earlier one is queued or running."""
    with transaction.atomic():
        record = BillingDay.objects.select_for_update().get(pk=record_id)
        if record.status != DayStatus.QUEUED:
            return []
        earlier = BillingDay.objects.filter(day__lt=record.day).exclude(
            status=DayStatus.FINISHED).exists()
        if earlier or running_day() is not None:
            return []
        record.status, record.step, record.started_at = DayStatus.RUNNING, "", now
        record.run += 1
        if runner is not None:
            record.runner = runner
        record.save(update_fields=["status", "step", "started_at", "run", "runner"])
        return _advance(record, now=now)


def _advance(record: BillingDay, *, now: datetime) -> list[int]:
    """Plan the step after the current one that has work (the day's row is locked by the
    caller); when no step is left, finish the day and start the next queued one."""
    for step in steps.after(record.step, record.day):
        ranges = step.plan(record.day)
        record.step = step.name
        if not ranges:
            continue
        record.save(update_fields=["step"])
        chunks = DayChunk.objects.bulk_create([
            DayChunk(day=record, run=record.run, step=step.name, seq=seq, lo=lo, hi=hi,
                     dispatched_at=now)
            for seq, (lo, hi) in enumerate(ranges)])
        return [chunk.pk for chunk in chunks]
    record.step = ""
    record.status, record.finished_at = DayStatus.FINISHED, now
    this_run = steps.results_of(record.chunks.filter(run=record.run).values_list(
        "result", flat=True))
    # The steps the day ran (with work or not): the audit asks whether a 1st closed its
    # month.
    record.stats = {**steps.stats_add(record.stats, this_run),
                    "steps": [step.name for step in steps.after("", record.day)]}
    record.save(update_fields=["step", "status", "finished_at", "stats"])
    if record.runner == Runner.WORKERS:
        following = next_queued(runner=Runner.WORKERS)
        if following is not None:
            return _start_after(following, now=now)
    return []


def _start_after(record: BillingDay, *, now: datetime) -> list[int]:
    """Start the next queued day from inside the finishing day's transaction."""
    record = BillingDay.objects.select_for_update().get(pk=record.pk)
    if record.status != DayStatus.QUEUED:
        return []
    record.status, record.step, record.started_at = DayStatus.RUNNING, "", now
    record.run += 1
    record.save(update_fields=["status", "step", "started_at", "run"])
    return _advance(record, now=now)


# Chunks ---------------------------------------------------------------------------------------
def chunk_claim(chunk_id: int, *, now: datetime) -> DayChunk | None:
    """Take the chunk for this worker, unless another has it (its lease runs) or it is done."""
    claimed = DayChunk.objects.filter(pk=chunk_id).filter(
        Q(status=ChunkStatus.PENDING) | Q(status=ChunkStatus.RUNNING, lease_until__lt=now)
    ).update(status=ChunkStatus.RUNNING, started_at=now, lease_until=now + lease(),
             attempts=F("attempts") + 1)
    if not claimed:
        return None
    return DayChunk.objects.select_related("day").get(pk=chunk_id)


def chunk_release(chunk_id: int, *, error: str) -> None:
    """A chunk whose work failed goes back to pending, for the watch to hand out again."""
    DayChunk.objects.filter(pk=chunk_id, status=ChunkStatus.RUNNING).update(
        status=ChunkStatus.PENDING, lease_until=None, error=error[:2000])


def chunk_done(chunk: DayChunk, result: dict, *, now: datetime) -> list[int]:
    """Record the chunk's work; if it was its step's last, plan the next step (or finish
    the day). Returns the chunks to hand out next."""
    with transaction.atomic():
        record = BillingDay.objects.select_for_update().get(pk=chunk.day_id)
        updated = DayChunk.objects.filter(pk=chunk.pk).exclude(
            status=ChunkStatus.DONE).update(status=ChunkStatus.DONE, finished_at=now,
                                            lease_until=None, result=result, error="")
        if not updated:
            return []  # another worker finished it meanwhile
        if (record.status != DayStatus.RUNNING or record.run != chunk.run
                or record.step != chunk.step):
            return []
        left = DayChunk.objects.filter(day=record, run=record.run, step=record.step).exclude(
            status=ChunkStatus.DONE).exists()
        if left:
            return []
        return _advance(record, now=now)


def chunk_run(chunk_id: int, *, now) -> list[int]:
    """Claim the chunk, do its step's work for its clients, record it. ``now`` is a
    callable (the run takes a while). Returns the chunks to hand out next."""
    chunk = chunk_claim(chunk_id, now=now())
    if chunk is None:
        return []
    step = steps.by_name(chunk.step)
    try:
        result = step.run(chunk.day.day, chunk.lo, chunk.hi, chunk.day)
    except Exception as error:
        logger.exception("The clock's %s chunk %s failed", chunk.step, chunk.pk)
        chunk_release(chunk.pk, error=f"{type(error).__name__}: {error}")
        raise
    return chunk_done(chunk, result, now=now())


def day_watch(*, now: datetime) -> list[int]:
    """Chunks of running days to hand out (again) to the workers: pending ones whose
    message has had a lease's time to arrive, and running ones whose worker's lease ran
    out. The caller holds the clock's lock, so no ``billing_run`` is running days here: a
    day one left running (it was stopped) is taken over by the workers."""
    BillingDay.objects.filter(status=DayStatus.RUNNING, runner=Runner.HERE).update(
        runner=Runner.WORKERS)
    stale = []
    for record in BillingDay.objects.filter(status=DayStatus.RUNNING):
        chunks = DayChunk.objects.filter(day=record, run=record.run, step=record.step).filter(
            Q(status=ChunkStatus.PENDING, dispatched_at__lt=now - lease())
            | Q(status=ChunkStatus.RUNNING, lease_until__lt=now))
        ids = list(chunks.values_list("pk", flat=True))
        DayChunk.objects.filter(pk__in=ids).update(dispatched_at=now)
        stale.extend(ids)
    return stale


def pending_chunks(record: BillingDay) -> list[int]:
    """The current step's chunks nobody holds (for the in-process loop)."""
    return list(DayChunk.objects.filter(day=record, run=record.run, step=record.step,
                                        status=ChunkStatus.PENDING)
                .order_by("seq").values_list("pk", flat=True))

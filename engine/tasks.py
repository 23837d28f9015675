"""Celery entry points of the billing clock: the beat's tick, a chunk of a day, and the
resumption of what money lifts. Ids and dates in, a function called; the wall clock is
read here and passed down.

The clock's chunks go to their own queue (``clock``, settings.CELERY_TASK_ROUTES), so a
day never waits behind the thousands of provisioning operations and mails it hands out.
"""

from __future__ import annotations

import contextlib

from celery import shared_task
from django.db import connection
from django.utils import timezone

from engine import coordinator, resume
from engine.models import Runner

CLOCK_LOCK = 4242_0001  # a PostgreSQL advisory lock: one tick (or billing_run) at a time
RESUME_BATCH = 50  # clients per resumption task


@contextlib.contextmanager
def clock_lock(*, wait: bool):
    """Hold the clock's advisory lock (``wait``: until it is free); yields whether it is
    held. Two beats, two ticks or a tick and ``billing_run`` never plan at once."""
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s)", [CLOCK_LOCK])
            held = True
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [CLOCK_LOCK])
            held = cursor.fetchone()[0]
        try:
            yield held
        finally:
            if held:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [CLOCK_LOCK])


def dispatch(chunk_ids: list[int]) -> None:
    for chunk_id in chunk_ids:
        run_day_chunk.delay(chunk_id)


def tick(today, now) -> list[str]:
    """Queue the days owed up to ``today`` for the workers; start the first if none is
    running, and hand out again what a running day lost. Returns the days queued."""
    owed = coordinator.owed_days(today)
    for day in owed:
        coordinator.day_queue(day, runner=Runner.WORKERS, now=now, owed=True)
    chunks = coordinator.day_watch(now=now)
    if coordinator.running_day() is None:
        first = coordinator.next_queued(until=today)
        if first is not None:
            chunks += coordinator.day_start(first.pk, now=now, runner=Runner.WORKERS)
    dispatch(chunks)
    return [str(day) for day in owed]


@shared_task
def billing_tick() -> list[str]:
    """Beat, every minute: run the days owed (normally none, once a day one, after
    downtime each missed day in order) on the workers. A tick that finds the clock's lock
    taken (another tick, a ``billing_run``) steps aside."""
    with clock_lock(wait=False) as held:
        if not held:
            return []
        return tick(timezone.localdate(), timezone.now())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_day_chunk(chunk_id: int) -> None:
    """One chunk of a day's step; hands out what it makes due next (the next step's
    chunks, the next day's). A redelivered or repeated chunk does nothing twice."""
    dispatch(coordinator.chunk_run(chunk_id, now=timezone.now))


@shared_task
def resume_paid_services() -> int:
    """Beat, every minute: clients whose balance covers again what was stopped for money,
    handed to the workers in batches."""
    ids = list(resume.clients_to_resume().values_list("pk", flat=True))
    for index in range(0, len(ids), RESUME_BATCH):
        resume_clients.delay(ids[index:index + RESUME_BATCH])
    return len(ids)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def resume_clients(client_ids: list[int]) -> int:
    return resume.resume_clients(client_ids, now=timezone.now())

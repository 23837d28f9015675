"""The billing clock's record of its days: which day runs, which step of it, and which
chunk of that step each worker has done.

A day is a row; its steps run one after the other; a step is cut into chunks (ranges of
client ids) that any worker may take. A chunk's completion is written in the database,
so no task waits on another: the worker that finishes a step's last chunk plans the next
step, and the one that finishes the last step finishes the day.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DayStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")


class Runner(models.TextChoices):
    WORKERS = "workers", _("Celery workers")
    HERE = "here", _("In the calling process")


class BillingDay(models.Model):
    """A day of the billing clock: queued, running (with its current step) or finished,
    with what its runs did (``stats`` adds up every run of the day: a replay that charges
    nothing leaves the figures of the run that did)."""

    day = models.DateField(unique=True)
    status = models.CharField(max_length=10, choices=DayStatus.choices,
                              default=DayStatus.QUEUED)
    runner = models.CharField(max_length=10, choices=Runner.choices, default=Runner.WORKERS)
    # Off for a dry run: no saved card is charged.
    charge_saved = models.BooleanField(default=True)
    # A day the clock owes by itself (the tick queued it), as opposed to one an operator
    # ran or replayed: the clock owes every day from its first such day on.
    owed = models.BooleanField(default=False)
    step = models.CharField(max_length=20, blank=True,
                            help_text=_("The step running now (empty before the first)."))
    run = models.PositiveIntegerField(default=0, help_text=_("How many times it started."))
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    stats = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("billing day")
        verbose_name_plural = _("billing days")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="finished", finished_at__isnull=False)
                | ~Q(status="finished"), name="finished_day_has_its_time"),
        ]

    def __str__(self) -> str:
        return str(self.day)


class ChunkStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class DayChunk(models.Model):
    """One step's work for the clients with ids in [lo, hi] on one run of a day.

    A worker claims it (running, with a lease) and marks it done with what it did. A chunk
    whose worker died keeps its lease until it runs out; then the tick hands it out again.
    Its work is idempotent (keys and unique constraints), so running it again charges,
    renews, stops and mails nothing twice.
    """

    day = models.ForeignKey(BillingDay, on_delete=models.CASCADE, related_name="chunks")
    run = models.PositiveIntegerField()
    step = models.CharField(max_length=20)
    seq = models.PositiveIntegerField()
    lo = models.BigIntegerField()
    hi = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=ChunkStatus.choices,
                              default=ChunkStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    # The last failure, for staff: the chunk is handed out again until it succeeds.
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["day", "run", "step", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["day", "run", "step", "seq"],
                                    name="one_chunk_per_place"),
        ]
        indexes = [models.Index(fields=["day", "run", "step", "status"])]

    def __str__(self) -> str:
        return f"{self.day} {self.step} #{self.seq} [{self.lo}-{self.hi}]"

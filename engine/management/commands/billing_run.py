import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from engine import clock, coordinator
from engine.models import BillingDay, DayStatus, Runner
from engine.tasks import clock_lock, dispatch


class Command(BaseCommand):
    help = ("Run (or replay) the billing clock's days --from .. --to (default: today), in "
            "order, here or (--workers) on the Celery workers. Days after today need "
            "--future, and then the days owed before them run first. --dry-run prints what "
            "would be charged, renewed, suspended and deleted and changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", type=date.fromisoformat)
        parser.add_argument("--to", dest="end", type=date.fromisoformat)
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--future", action="store_true",
                            help="allow days after today (the days before them that are "
                                 "owed run first: no day is skipped)")
        parser.add_argument("--workers", action="store_true",
                            help="hand the days' chunks to the Celery workers and wait")

    def handle(self, *args, start=None, end=None, dry_run=False, future=False,
               workers=False, **options):
        today = timezone.localdate()
        end = end or start or today
        start = start or end
        if start > end:
            raise CommandError("--from is after --to.")
        if dry_run and workers:
            raise CommandError("A dry run runs here, in one transaction: drop --workers.")
        if end > today and not future and not dry_run:
            raise CommandError(f"{end} is after today ({today}): the clock runs a day once "
                               "it has begun. Add --future to run days ahead of time.")
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        if dry_run:
            for day in days:
                report = clock.run_day(day, dry_run=True)
                self.stdout.write("[dry run] " + "\n".join(report.lines()))
            return
        if end > today:
            # Never a hole: the days owed before the first one asked run before it.
            owed = coordinator.owed_days(start - timedelta(days=1))
            if owed:
                self.stdout.write(f"First the days owed before {start}: "
                                  + ", ".join(str(day) for day in owed))
            days = owed + days
        with clock_lock(wait=True):
            if workers:
                self._on_workers(days)
            else:
                self._here(days)

    def _here(self, days: list[date]) -> None:
        for day in days:
            record = coordinator.day_queue(day, runner=Runner.HERE, now=timezone.now(),
                                           again=True)
            try:
                record = clock.run_here(record)
            except clock.ClockBusy as busy:
                raise CommandError(str(busy)) from busy
            self.stdout.write("\n".join(clock.report_of(record).lines()))

    def _on_workers(self, days: list[date]) -> None:
        records = [coordinator.day_queue(day, runner=Runner.WORKERS, now=timezone.now(),
                                         again=True) for day in days]
        waiting = [record.pk for record in records]
        self.stdout.write(f"Handed {len(days)} day(s) to the workers; waiting.")
        last_watch = time.monotonic()
        while waiting:
            if coordinator.running_day() is None:
                first = coordinator.next_queued()
                if first is not None:
                    dispatch(coordinator.day_start(first.pk, now=timezone.now(),
                                                   runner=Runner.WORKERS))
            if time.monotonic() - last_watch > coordinator.lease().total_seconds() / 2:
                dispatch(coordinator.day_watch(now=timezone.now()))
                last_watch = time.monotonic()
            for record in BillingDay.objects.filter(
                    pk__in=waiting, status=DayStatus.FINISHED).order_by("day"):
                self.stdout.write("\n".join(clock.report_of(record).lines()))
                waiting.remove(record.pk)
            time.sleep(0.5)

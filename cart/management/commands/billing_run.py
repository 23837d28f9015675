from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.charging import CHUNK_SIZE
from cart import clock


class Command(BaseCommand):
    help = ("Run the billing clock for the days --from .. --to (default: today), in order. "
            "--dry-run prints what would be charged, renewed, suspended and deleted and "
            "changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", type=date.fromisoformat)
        parser.add_argument("--to", dest="end", type=date.fromisoformat)
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)
        parser.add_argument("--workers", action="store_true",
                            help="spread the daily charges over the Celery workers")

    def handle(self, *args, start=None, end=None, dry_run=False, chunk_size=CHUNK_SIZE,
               workers=False, **options):
        end = end or timezone.localdate()
        start = start or end
        if start > end:
            raise CommandError("--from is after --to.")
        if dry_run and workers:
            raise CommandError("A dry run runs here, in one transaction: drop --workers.")
        runner = None
        if workers:
            from cart.tasks import run_chunks_on_workers

            runner = run_chunks_on_workers
        day = start
        while day <= end:
            if dry_run:
                report = clock.run_day(day, dry_run=True, chunk_size=chunk_size)
                self.stdout.write("[dry run] " + "\n".join(report.lines()))
            else:
                report = clock.run_recorded_day(day, chunk_size=chunk_size, runner=runner)
                self.stdout.write("\n".join(report.lines()))
            day += timedelta(days=1)

from django.core.management.base import BaseCommand

from services.models import ServiceOperation
from services.operations import operation_run, operations_requeue_stale

Status = ServiceOperation.Status


class Command(BaseCommand):
    help = ("Run the pending provisioning operations here and now (no worker needed), or "
            "with --queue send them, and the stale ones, to the Celery workers.")

    def add_arguments(self, parser):
        parser.add_argument("--queue", action="store_true",
                            help="send to the workers instead of running here")

    def handle(self, *args, queue=False, **options):
        if queue:
            count = operations_requeue_stale(pending_after=0)
            self.stdout.write(f"{count} operation(s) queued.")
            return
        pending = ServiceOperation.objects.filter(
            status__in=[Status.PENDING, Status.RUNNING]).order_by("pk").values_list("pk", flat=True)
        for pk in pending:
            status = operation_run(pk)
            self.stdout.write(f"operation {pk}: {status}")
        self.stdout.write(f"{len(pending)} operation(s) looked at.")

"""Poll the support departments' mailboxes now, as the beat does every minute.

    manage.py support_poll [--gateway ID]

Exit 1 when a mailbox could not be polled (the error is also on the gateway, for staff).
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from support import mailboxes
from support.models import MailGateway


class Command(BaseCommand):
    help = "Take the new mail of every enabled support mailbox (or of one) now."

    def add_arguments(self, parser):
        parser.add_argument("--gateway", type=int,
                            help="Id of the gateway to poll (also when it is disabled).")

    def handle(self, *args, gateway=None, **options):
        if gateway is not None:
            if not MailGateway.objects.filter(pk=gateway).exists():
                raise CommandError(f"No gateway with the id {gateway}.")
            ids = [gateway]
        else:
            ids = mailboxes.enabled_gateway_ids()
        failed = 0
        for gateway_id in ids:
            poll = mailboxes.gateway_poll(gateway_id=gateway_id, now=timezone.now(),
                                          reason="manage.py support_poll")
            name = MailGateway.objects.get(pk=gateway_id)  # as the poll left it
            if poll is None:
                self.stdout.write(f"{name}: another poll is running; skipped")
            elif poll.error:
                failed += 1
                self.stderr.write(f"{name}: {poll.error}")
            else:
                self.stdout.write(f"{name}: fetched={poll.fetched} stored={poll.stored} "
                                  f"duplicates={poll.duplicates} last_uid={name.last_uid}")
        if failed:
            raise CommandError(f"{failed} mailbox(es) could not be polled.")

"""The MTA's pipe: one raw RFC 5322 message on standard input.

Exit 0 once the raw message is stored, whatever it became: a non-zero exit makes the MTA
bounce the mail to its sender or retry, which is right only when nothing was kept.
"""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from support import inbound
from support.models import SupportDepartment


class Command(BaseCommand):
    help = "Receive one e-mail message from standard input into the support center."
    stealth_options = ("stdin",)  # tests pass the message as bytes here

    def add_arguments(self, parser):
        parser.add_argument("--department", help="Slug of the department mail here goes to.")

    def handle(self, *args, department=None, **options):
        chosen = None
        if department:
            chosen = SupportDepartment.objects.filter(slug=department).first()
            if chosen is None:
                # Refusing would make the MTA bounce the mail: keep it in the default one.
                self.stderr.write(f"No support department with the slug {department!r}; "
                                  "the default department takes the message.")
        stdin = options.get("stdin") or sys.stdin
        raw = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read()
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        if not raw.strip():
            raise CommandError("Standard input held no message.")
        receipt = inbound.receive(raw, route="pipe", department=chosen, now=timezone.now())
        status = "duplicate" if receipt.duplicate else receipt.inbound.outcome
        self.stdout.write(f"{receipt.inbound.message_id} {status}")

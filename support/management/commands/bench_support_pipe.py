"""Benchmark of e-mail in: N generated messages through the MTA's pipe command.

    manage.py bench_support_pipe --messages 1000

Creates a fresh database next to the configured one (``<name>_bench_support``), migrates
it, and fills it with a provider's support center: 20,000 clients with an owner who may
write tickets, five tickets each (100,000) awaiting the client after a staff reply whose
Message-ID we sent, a staff member who is told of new tickets. Then it generates N
realistic messages, a mix of

    30 % new tickets (plain text, some HTML with an attachment)
    25 % replies threaded by the subject token, with quoted history
    15 % replies threaded by In-Reply-To only (the subject edited)
    12 % unknown senders
    10 % auto-replies (Auto-Submitted, Precedence)
     8 % bounces (null sender, MAILER-DAEMON)

and pipes each one as ``manage.py support_pipe`` does (``call_command`` with the raw bytes
on standard input, in one process: the MTA's own process start is measured apart), then
all of them again (each must be a duplicate). The last line is machine-readable:

    bench_support_pipe messages=N seconds=S per_s=R again_s=A process_start_s=P
"""

from __future__ import annotations

import base64
import cProfile
import io
import pstats
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from email.utils import format_datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from accounts.models import Access, Client, ClientUser, Provider, User
from core.bench_database import bench_database
from support.models import (
    InboundEmail,
    Message,
    MessageKind,
    SupportDepartment,
    Ticket,
    TicketStatus,
)

CLIENTS = 20_000
TICKETS_EACH = 5  # 100,000 tickets, as the staff queue's benchmark has
SEED = 14
# kind: share of the messages, and the outcome each must have
MIX = [("new", 30, "ticket_created"), ("token", 25, "reply_added"),
       ("in_reply_to", 15, "reply_added"), ("unknown", 12, "unknown_sender"),
       ("auto", 10, "auto_reply"), ("bounce", 8, "bounce")]
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")
LOREM = ("The control panel answers slowly since this morning and the backups did not "
         "finish. Could you have a look at the server and tell us what happened? ")


class Stdin(io.TextIOWrapper):
    """Standard input as the MTA gives it: bytes underneath."""


class Command(BaseCommand):
    help = "Time N generated e-mail messages through the support pipe command."

    def add_arguments(self, parser):
        parser.add_argument("--messages", type=int, default=1000)
        parser.add_argument("--profile", action="store_true",
                            help="print where the first pass spent its time (cProfile)")
        parser.add_argument("--inner", action="store_true", help="(internal)")

    def handle(self, *args, messages, inner, profile, **options):
        if messages < 100:
            raise CommandError("--messages must be at least 100.")
        if not inner:
            return self._outer(messages, profile)
        self._inner(messages, profile)

    # The fresh database ---------------------------------------------------------------------
    def _outer(self, messages: int, profile: bool) -> None:
        name, env = bench_database("bench_support")
        env["CELERY_QUEUE"] = f"bench-{uuid.uuid4().hex[:8]}"
        if settings.EMBEDDED_BROKER:
            env["CELERY_FS_BROKER_DIR"] = tempfile.mkdtemp(prefix="openbill-bench-broker-")
        self.stdout.write(f"Fresh database {name}: migrating ...")
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True)
        subprocess.run([*manage, "bench_support_pipe", "--inner", "--messages",
                        str(messages), *(["--profile"] if profile else [])], env=env,
                       check=True)

    # The run --------------------------------------------------------------------------------
    def _inner(self, count: int, profile: bool) -> None:
        # Mail to staff is composed and handed to the backend, kept in memory here.
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="openbill-bench-media-")
        tickets = self._fill()
        generated = _generate(count, tickets, random.Random(SEED))  # noqa: S311 (a repeatable mix)
        expected = Counter(outcome for _raw, outcome in generated)

        profiler = cProfile.Profile() if profile else None
        started = time.monotonic()
        if profiler:
            profiler.enable()
        for raw, _outcome in generated:
            _pipe(raw)
        if profiler:
            profiler.disable()
        seconds = time.monotonic() - started
        if profiler:
            report = io.StringIO()
            pstats.Stats(profiler, stream=report).sort_stats("cumulative").print_stats(40)
            self.stdout.write(report.getvalue())

        got = Counter(InboundEmail.objects.values_list("outcome", flat=True))
        if got != expected:
            raise CommandError(f"Outcomes {dict(got)}, expected {dict(expected)}.")
        started = time.monotonic()
        for raw, _outcome in generated:
            _pipe(raw)
        again = time.monotonic() - started
        if InboundEmail.objects.count() != count:
            raise CommandError("A message piped twice was stored twice.")
        process_start = self._process_start(generated[0][0])
        self.stdout.write(f"Outcomes: {dict(sorted(got.items()))}")
        self.stdout.write(f"{count} messages in {seconds:.2f} s ({count / seconds:.1f}/s); "
                          f"the same again, all duplicates, in {again:.2f} s; one "
                          f"`manage.py support_pipe` process (the MTA starts one per "
                          f"message) takes {process_start:.2f} s from start to exit.")
        self.stdout.write(f"bench_support_pipe messages={count} seconds={seconds:.2f} "
                          f"per_s={count / seconds:.1f} again_s={again:.2f} "
                          f"process_start_s={process_start:.2f}")

    def _process_start(self, raw: bytes) -> float:
        """What an MTA pays per message on top: Python and Django starting (a duplicate,
        so the message's own work is a lookup)."""
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        started = time.monotonic()
        subprocess.run([*manage, "support_pipe"], input=raw, check=True,
                       stdout=subprocess.DEVNULL)
        return time.monotonic() - started

    def _fill(self) -> list[tuple[Ticket, str, str]]:
        """(ticket, owner's address, the Message-ID of our last reply) per client."""
        provider = Provider.objects.create(name="Bench", currency="USD", is_default=True)
        department = SupportDepartment.objects.create(name="Technical support",
                                                      slug="technical",
                                                      email="support@bench.example")
        staff = User.objects.create(email="staff@bench.example", is_staff=True)
        staff.groups.add(Group.objects.get_or_create(name="Technical support")[0])
        now = timezone.now()
        batch = 5000
        users = User.objects.bulk_create(
            (User(email=f"owner{i}@client{i}.example") for i in range(CLIENTS)),
            batch_size=batch)
        clients = Client.objects.bulk_create(
            (Client(provider=provider, kind=Client.Kind.PERSON, name=f"Client {i}",
                    email=f"owner{i}@client{i}.example") for i in range(CLIENTS)),
            batch_size=batch)
        ClientUser.objects.bulk_create(
            (ClientUser(client=client, user=user, is_owner=True, support_access=Access.MANAGE)
             for client, user in zip(clients, users, strict=True)), batch_size=batch)
        owners = list(zip(clients, users, strict=True)) * TICKETS_EACH
        tickets = Ticket.objects.bulk_create(
            (Ticket(provider=provider, number=100000 + i, client=client, opened_by=user,
                    department=department, subject=f"Server {i} is slow",
                    status=TicketStatus.AWAITING_CLIENT, created_at=now, updated_at=now)
             for i, (client, user) in enumerate(owners)), batch_size=batch)
        Message.objects.bulk_create(
            (Message(ticket=ticket, author=staff, kind=MessageKind.STAFF,
                     body_text="We restarted it.", created_at=now,
                     message_id=f"<reply-{ticket.number}@bench.example>")
             for ticket in tickets), batch_size=batch)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum keeps up to date
        return [(ticket, user.email, f"<reply-{ticket.number}@bench.example>")
                for ticket, (_client, user) in zip(tickets, owners, strict=True)]


def _pipe(raw: bytes) -> None:
    call_command("support_pipe", stdin=Stdin(io.BytesIO(raw)), stdout=io.StringIO())


def _generate(count: int, tickets, rng: random.Random) -> list[tuple[bytes, str]]:
    kinds = [kind for kind, share, _outcome in MIX for _n in range(share)]
    outcomes = {kind: outcome for kind, _share, outcome in MIX}
    when = format_datetime(timezone.now())
    generated = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        ticket, sender, our_id = tickets[rng.randrange(len(tickets))]
        message_id = f"<bench-{index}-{uuid.uuid4().hex[:8]}@mail.example>"
        body = LOREM * rng.randint(1, 6)
        headers = {"From": sender, "To": "support@bench.example", "Date": when,
                   "Message-ID": message_id, "MIME-Version": "1.0"}
        if kind == "new":
            headers["Subject"] = f"Question {index}: backups and the control panel"
        elif kind == "token":
            headers["Subject"] = f"Re: {ticket.subject_token} {ticket.subject}"
            body += "\n\nOn Mon, 2 Mar 2026 at 10:00, Support wrote:\n> We restarted it.\n"
        elif kind == "in_reply_to":
            headers.update({"Subject": "still slow (edited subject)", "In-Reply-To": our_id,
                            "References": our_id})
            body += "\n\n-----Original Message-----\nWe restarted it.\n"
        elif kind == "unknown":
            headers.update({"From": f"stranger{index}@elsewhere.example",
                            "Subject": "Do you sell domains?"})
        elif kind == "auto":
            headers.update({"Subject": f"Out of office: {ticket.subject_token}",
                            "Auto-Submitted": "auto-replied", "In-Reply-To": our_id})
            body = "I am out of the office until Monday."
        else:  # bounce
            headers.update({"From": "MAILER-DAEMON@mx.client.example", "Return-Path": "<>",
                            "Subject": "Undelivered Mail Returned to Sender"})
            body = "This is the mail system. Your message could not be delivered."
        if kind == "new" and index % 5 == 0:
            raw = _html_with_attachment(headers, body, index)
        else:
            raw = _plain(headers, body)
        generated.append((raw, outcomes[kind]))
    return generated


def _plain(headers: dict, body: str) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (head + "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def _html_with_attachment(headers: dict, body: str, index: int) -> bytes:
    boundary = f"b{index}"
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    image = base64.b64encode(PNG).decode()
    return (
        f"{head}Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
        f"--{boundary}\r\nContent-Type: multipart/alternative; boundary=\"{boundary}a\"\r\n\r\n"
        f"--{boundary}a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        f"--{boundary}a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"<div><p>{body}</p><script>alert(1)</script></div>\r\n--{boundary}a--\r\n"
        f"--{boundary}\r\nContent-Type: image/png; name=\"screen.png\"\r\n"
        f"Content-Disposition: attachment; filename=\"screen.png\"\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{image}\r\n--{boundary}--\r\n").encode()

"""Benchmark of the SLA's queries over many tickets, inside a transaction that is rolled
back (the database is left as it was).

    manage.py bench_sla [--tickets 100000]

Writes N tickets of one department (a third running, a third awaiting the client, a third
closed; targets spread around now, 1 % of the running ones past their target and not
escalated yet) for the first client of the database (run ``seed_demo`` first), then times:
counting the queue by SLA state (the filter's SQL, over every ticket of the department),
one page of the queue filtered by "breached", finding the escalations owed, and escalating
one batch of them. The last line is machine-readable.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import Client
from support.escalation import escalate_ticket, escalations_due
from support.models import Priority, SlaPolicy, SupportDepartment, Ticket, TicketStatus
from support.sla import sla_state_annotate


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the SLA's queries over many tickets (rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=100_000)

    def handle(self, *args, tickets: int, **options):
        client = Client.objects.order_by("pk").first()
        if client is None:
            raise CommandError("No client: run `manage.py seed_demo` first.")
        if not 1 <= tickets <= 800_000:
            raise CommandError("--tickets must be between 1 and 800000.")
        try:
            with transaction.atomic():
                self._bench(client, tickets)
                raise _Rollback
        except _Rollback:
            pass

    def _timed(self, work):
        started = time.perf_counter()
        result = work()
        return result, (time.perf_counter() - started) * 1000

    def _bench(self, client: Client, count: int) -> None:
        now = timezone.now()
        department = SupportDepartment.objects.create(name="Bench", slug="bench-sla")
        SlaPolicy.objects.create(department=department, priority=Priority.NORMAL,
                                 first_response_minutes=240, resolution_minutes=1440)
        taken = set(Ticket.objects.filter(provider_id=client.provider_id)
                    .values_list("number", flat=True))
        numbers = (n for n in range(100000, 1000000) if n not in taken)
        rows, randomly = [], random.Random(14)  # noqa: S311 - a repeatable spread, no secret
        for index in range(count):
            opened = now - timedelta(minutes=randomly.randint(0, 3 * 24 * 60))
            kind = index % 3
            late = kind == 0 and randomly.random() < 0.01
            due = now - timedelta(minutes=5) if late else now + timedelta(hours=4)
            rows.append(Ticket(
                provider_id=client.provider_id, number=next(numbers), client=client,
                department=department, subject=f"Bench {index}", created_at=opened,
                updated_at=opened,
                status=[TicketStatus.AWAITING_STAFF, TicketStatus.AWAITING_CLIENT,
                        TicketStatus.CLOSED][kind],
                closed_at=now if kind == 2 else None,
                sla_paused_since=None if kind == 0 else opened,
                first_responded_at=None if kind == 0 else opened,
                sla_first_response_due_at=due, sla_first_response_risk_at=due,
                sla_resolution_due_at=now + timedelta(days=1),
                sla_resolution_risk_at=now + timedelta(hours=18)))
        Ticket.objects.bulk_create(rows, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE support_ticket")

        queue = Ticket.objects.filter(department=department)
        counts, count_ms = self._timed(lambda: dict(
            sla_state_annotate(queue, now=now).values_list("sla_state_value")
            .annotate(n=Count("pk")).values_list("sla_state_value", "n")))
        page, page_ms = self._timed(lambda: list(
            sla_state_annotate(queue, now=now).filter(sla_state_value="breached")
            .select_related("client", "department", "assignee")
            .order_by("-updated_at", "-id")[:50]))
        owed, due_ms = self._timed(lambda: escalations_due(now=now))
        batch = owed[:200]
        _, escalate_ms = self._timed(lambda: [
            escalate_ticket(ticket_id=ticket_id, level=level, now=now)
            for ticket_id, level in batch])
        per_escalation = escalate_ms / len(batch) if batch else 0.0
        self.stdout.write(f"states: {counts}")
        self.stdout.write(
            f"bench_sla tickets={count} count_by_state_ms={count_ms:.0f} "
            f"breached_page_ms={page_ms:.0f} rows={len(page)} "
            f"escalations_due_ms={due_ms:.0f} owed={len(owed)} "
            f"escalate_ms_each={per_escalation:.1f}")

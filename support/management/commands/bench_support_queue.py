"""Benchmark of the staff ticket queue.

    manage.py bench_support_queue --tickets 100000 [--runs 9]

Creates a fresh database next to the configured one (``<name>_bench_queue``), migrates it,
and fills it with N tickets (COPY, core.bulk) over N/10 clients with two services each
(four product types), across five support departments of which the benchmark's support
employee works three: a fifth of the tickets open (new, awaiting staff, awaiting client,
on hold), the rest closed over two years, one message each. Then it renders staff pages
as that employee through Django's test client, in this process (every middleware, the
template, the queries; no network), and prints per page the median server time over the
runs and the number of queries. The last line is machine-readable:

    bench_support_queue tickets=N active_ms=X active_queries=Q all_ms=Y ...
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from functools import partial
from pathlib import Path

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import generate_totp_secret
from allauth.mfa.utils import encrypt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Provider, User
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from core.bench_database import bench_database
from core.bulk import copy_rows
from services.models import Charging, ProductType, TariffPlan
from support.models import MessageKind, Priority, SupportDepartment, Ticket, TicketStatus

OPEN_SHARE = 0.2
OPEN_STATUSES = [TicketStatus.NEW, TicketStatus.AWAITING_STAFF, TicketStatus.AWAITING_CLIENT,
                 TicketStatus.ON_HOLD]
DEPARTMENTS = ["Technical", "Billing", "Sales", "Abuse", "Domains"]
WORKED = 3  # the employee works the first three
TEAM = 8  # staff per staff department, assignees of open tickets


class Command(BaseCommand):
    help = "Time the staff ticket queue over N tickets as a support employee."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=100_000)
        parser.add_argument("--runs", type=int, default=9)
        parser.add_argument("--inner", action="store_true", help="(internal)")

    def handle(self, *args, tickets, runs, inner, **options):
        if not 100 <= tickets <= 800_000:
            raise CommandError("--tickets must be between 100 and 800,000 (six-digit numbers).")
        if not inner:
            name, env = bench_database("bench_queue")
            manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
            self.stdout.write(f"Fresh database {name}: migrating ...")
            subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True)
            subprocess.run([*manage, "bench_support_queue", "--inner", "--tickets",
                            str(tickets), "--runs", str(runs)], env=env, check=True)
            return
        started = time.monotonic()
        employee, sample = self._fill(tickets)
        self.stdout.write(f"Filled {tickets} tickets in {time.monotonic() - started:.1f} s.")
        self._measure(employee, sample, tickets, runs)

    # The fill -------------------------------------------------------------------------------
    def _fill(self, count: int) -> tuple[User, Ticket]:
        rng = random.Random(14)  # noqa: S311 (a fill made the same every run, no secret)
        now = timezone.now()
        with transaction.atomic():
            provider = Provider.objects.create(name="Bench", currency="USD", is_default=True)
            clients = count // 10
            plans = [TariffPlan.objects.create(provider=provider, name=f"Bench {kind.label}",
                                               product_type=kind, charging=Charging.PERIOD,
                                               module="manual")
                     for kind in (ProductType.VIRTUAL_SERVER, ProductType.SHARED_HOSTING,
                                  ProductType.DOMAIN, ProductType.SSL)]
            with connection.cursor() as cursor:
                cursor.execute(_CLIENTS, {"provider": provider.pk, "now": now,
                                          "clients": clients})
                cursor.execute(_SERVICES, {"provider": provider.pk, "now": now,
                                           "plans": [plan.pk for plan in plans]})
                cursor.execute("SELECT id FROM accounts_client WHERE provider_id = %s "
                               "ORDER BY id", [provider.pk])
                client_ids = [row[0] for row in cursor.fetchall()]
                cursor.execute("SELECT client_id, min(id) FROM services_service "
                               "GROUP BY client_id")
                service_of = dict(cursor.fetchall())
            departments, teams = [], []
            for index, name in enumerate(DEPARTMENTS):
                staff_department = department_sync(
                    name=f"Bench {name} team", codenames=DEFAULT_DEPARTMENTS["Technical support"])
                department = SupportDepartment.objects.create(name=name, slug=name.lower(),
                                                              position=index)
                department.staff_departments.add(staff_department)
                team = [self._staff(f"{name.lower()}-{n}@bench.example", staff_department)
                        for n in range(TEAM)]
                departments.append(department)
                teams.append(team)
            employee = teams[0][0]
            for staff_department_name in DEPARTMENTS[1:WORKED]:
                employee.groups.add(department_sync(
                    name=f"Bench {staff_department_name} team",
                    codenames=DEFAULT_DEPARTMENTS["Technical support"]))
            numbers = rng.sample(range(100000, 1000000), count)
            rows, messages = [], []
            for index in range(count):
                client_id = client_ids[index % len(client_ids)]
                which = rng.randrange(len(departments))
                is_open = rng.random() < OPEN_SHARE
                status = rng.choice(OPEN_STATUSES) if is_open else TicketStatus.CLOSED
                created = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
                updated = created + timedelta(minutes=rng.randrange(3 * 24 * 60))
                assignee = rng.choice(teams[which]).pk if (
                    status != TicketStatus.NEW and rng.random() < 0.7) else None
                rows.append((
                    provider.pk, numbers[index], client_id, departments[which].pk,
                    rng.choice(Priority.values), service_of.get(client_id)
                    if rng.random() < 0.5 else None, f"Bench question {index}", status,
                    assignee, created, updated, None if is_open else updated, "",
                    timedelta(0)))
                messages.append((index, created))
            copy_rows("support_ticket", [
                "provider_id", "number", "client_id", "department_id", "priority",
                "service_id", "subject", "status", "assignee_id", "created_at", "updated_at",
                "closed_at", "rating_comment", "sla_paused"], rows)
            with connection.cursor() as cursor:
                cursor.execute("SELECT id FROM support_ticket ORDER BY id")
                ids = [row[0] for row in cursor.fetchall()]
            copy_rows("support_message", [
                "ticket_id", "kind", "body_text", "body_html", "created_at"],
                ((ids[index], MessageKind.CLIENT, "The server does not answer.", "", created)
                 for index, created in messages))
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum keeps up to date
        sample = Ticket.objects.filter(department=departments[0]).exclude(
            status=TicketStatus.CLOSED).order_by("-updated_at").first()
        return employee, sample

    def _staff(self, email: str, staff_department) -> User:
        user = User.objects.create_user(email=email, password=None, name=email, is_staff=True)
        user.groups.add(staff_department)
        # Staff must have a second factor before any staff page opens.
        Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP,
                                     data={"secret": encrypt(generate_totp_secret())})
        return user

    # The measure -----------------------------------------------------------------------------
    def _measure(self, employee: User, sample: Ticket, count: int, runs: int) -> None:
        changelist = reverse("admin:support_ticket_changelist")
        pages = [
            ("active", changelist),
            ("all", f"{changelist}?queue=all"),
            ("mine", f"{changelist}?queue=mine"),
            ("department", f"{changelist}?department={sample.department_id}"
                           "&status__exact=awaiting_staff&priority__exact=urgent"),
            ("product_type", f"{changelist}?product_type=domain"),
            ("search_number", f"{changelist}?q={sample.display_number}&queue=all"),
            ("ticket", reverse("admin:support_ticket_change", args=[sample.pk])),
        ]
        figures = []
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            browser = Browser()
            browser.force_login(employee)
            # As a request through HTTPS, which production (and its redirect) expects.
            get = partial(browser.get, secure=True)
            for name, url in pages:
                response = get(url)  # warm: templates compiled, plans cached
                if response.status_code != 200:
                    raise CommandError(f"{name}: {url} answered {response.status_code}")
                timings, cpu = [], []
                for _run in range(runs):
                    started, started_cpu = time.perf_counter(), time.process_time()
                    get(url)
                    timings.append((time.perf_counter() - started) * 1000)
                    cpu.append((time.process_time() - started_cpu) * 1000)
                with CaptureQueriesContext(connection) as captured:
                    get(url)
                median = statistics.median(timings)
                # The CPU this process spent (rendering, ORM): what a shared, busy machine
                # adds to the wall time waiting for a core is not in it.
                self.stdout.write(
                    f"  {name:<14} median {median:7.1f} ms (min {min(timings):.1f}, max "
                    f"{max(timings):.1f}; cpu {statistics.median(cpu):.1f}) "
                    f"{len(captured):3d} queries  {url}")
                figures.append(f"{name}_ms={median:.1f} {name}_cpu_ms="
                               f"{statistics.median(cpu):.1f} {name}_queries={len(captured)}")
        self.stdout.write(f"bench_support_queue tickets={count} runs={runs} "
                          + " ".join(figures))


# N/10 clients; two services each (of four product types).
_CLIENTS = """
    INSERT INTO accounts_client (provider_id, kind, name, email, phone, notes, created_at)
    SELECT %(provider)s, 'person', 'Client ' || i, 'c' || i || '@bench.example', '', '',
           %(now)s
    FROM generate_series(0, %(clients)s - 1) i"""
_SERVICES = """
    WITH c AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM accounts_client
               WHERE provider_id = %(provider)s)
    INSERT INTO services_service (client_id, plan_id, name, billing_period, status, operation,
                                  suspend_reason, parameters, auto_renew, expires_on,
                                  created_at, activated_at)
    SELECT c.id, (%(plans)s::bigint[])[1 + (c.n + p) %% 4], 'svc-' || c.id || '-' || p,
           'month', 'active', '', '', '{}', true, (%(now)s::date + (c.n %% 300)::int),
           %(now)s, %(now)s
    FROM c CROSS JOIN generate_series(0, 1) p"""

"""Benchmark of one whole day of the billing clock, through the Celery workers.

    manage.py bench_clock --services 1000000 [--workers 2]

Creates a fresh database next to the configured one (``<name>_bench``), migrates it, and
fills it set-based with N services over N/10 clients, as a provider's day on the 1st of a
month looks: 30 % daily-charged servers, 50 % monthly and 20 % yearly period services with
auto-renewal, one service in ten due for renewal today, 1 % of the clients without the
money for it (their services stop), 0.2 % of the services stopped past their grace period
(deleted), 2 % expiring in a week (reminded). Every client is taxed.

It then starts Celery workers (``--workers`` processes, on a broker queue of the bench's
own) that take only the clock's queue, and times: the day (run_s: queued, planned, every
chunk of every step done by the workers, finished), the same day again (rerun_s: must
change nothing), and a plain INSERT ... SELECT of as many rows as the day wrote to the
ledger (transactions, entries, charges) into its charge table (insert_select_s), the floor
any way of writing them pays. The provisioning operations
and mails the day hands out wait in the default queue (provisioning workers' work, not the
clock's). The last line is machine-readable:

    bench_clock services=N renewed=R suspended=S deleted=D run_s=X rerun_s=Y
        insert_select_s=Z ratio=Q peak_rss_mb=M
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone
from djmoney.money import Money

from accounts.models import Company, Notification, Provider
from billing.audit import audit
from billing.ledger import system_account
from billing.models import AccountKind, TaxRate
from core.bench_database import bench_database
from engine import clock, coordinator
from engine.models import BillingDay, DayChunk, DayStatus, Runner
from engine.tasks import dispatch
from services.models import (
    AddonKind,
    Charging,
    PlanPrice,
    ProductType,
    ServiceOperation,
    TariffPlan,
)

BENCH_DAY = date(2027, 3, 1)
GRACE_DAYS = 7
LEAD_DAYS = 3
NOTICE_DAYS = 7


class Command(BaseCommand):
    help = "Time one whole day of the billing clock over N services on Celery workers."

    def add_arguments(self, parser):
        parser.add_argument("--services", type=int, default=100_000)
        parser.add_argument("--workers", type=int, default=2,
                            help="worker processes taking the clock's chunks")
        parser.add_argument("--inner", action="store_true", help="(internal)")

    def handle(self, *args, services, workers, inner, **options):
        if services < 1000 or services % 10:
            raise CommandError("--services must be a multiple of 10, at least 1000.")
        if not inner:
            return self._outer(services, workers)
        self._inner(services, workers)

    # The fresh database and broker ----------------------------------------------------------
    def _outer(self, services: int, workers: int) -> None:
        name, env = bench_database("bench")
        # A queue of the bench's own: nothing it hands out reaches another run's workers.
        env["CELERY_QUEUE"] = f"bench-{uuid.uuid4().hex[:8]}"
        if settings.EMBEDDED_BROKER:
            env["CELERY_FS_BROKER_DIR"] = tempfile.mkdtemp(prefix="openbill-bench-broker-")
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        self.stdout.write(f"Fresh database {name}: migrating ...")
        subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True)
        subprocess.run([*manage, "bench_clock", "--inner", "--services", str(services),
                        "--workers", str(workers)], env=env, check=True)

    # The run ------------------------------------------------------------------------------
    def _inner(self, services: int, workers: int) -> None:
        started = time.monotonic()
        expected = self._fill(services)
        self.stdout.write(f"Filled {services} services over {services // 10} clients in "
                          f"{time.monotonic() - started:.1f} s: {json.dumps(expected)}")
        with _workers(workers) as log:
            self.stdout.write(f"{workers} worker process(es) ready ({log}).")
            before = _ledger_rows()
            run_s, report = self._day()
            written = _ledger_rows() - before
            self.stdout.write("\n".join(report.lines()))
            self._steps()
            rerun_s, again = self._day()
        self._check(report, again, expected)
        self.stdout.write(f"Same-day re-run: nothing charged, renewed, stopped or deleted "
                          f"in {rerun_s:.2f} s")
        insert_select_s = self._plain_insert(written)
        self.stdout.write(f"Plain INSERT ... SELECT of {written} rows (as many as the day "
                          f"wrote to the ledger: transactions, entries, charges) into the "
                          f"charge table: {insert_select_s:.2f} s")
        with connection.cursor() as cursor:
            # The day wrote a million rows in a minute, faster than autovacuum looks: with
            # the fill's statistics PostgreSQL 15 plans the audit's joins as nested loops
            # over what it thinks are empty ledger tables, and takes hours.
            cursor.execute("ANALYZE")
        problems = audit()
        if problems:
            raise CommandError(f"The books do not balance: {problems[:3]}")
        self.stdout.write(self._queued())
        peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        suspended = len(report.suspended_unpaid) + len(report.suspended_expired)
        self.stdout.write(
            f"bench_clock services={services} renewed={len(report.renewed)} "
            f"suspended={suspended} deleted={len(report.deleted)} run_s={run_s:.2f} "
            f"rerun_s={rerun_s:.2f} insert_select_s={insert_select_s:.2f} "
            f"ratio={run_s / insert_select_s:.2f} peak_rss_mb={peak:.0f}")

    def _day(self):
        """The bench day, queued for the workers and started as the beat's tick does;
        timed until the last chunk of its last step is done."""
        started = time.monotonic()
        record = coordinator.day_queue(BENCH_DAY, runner=Runner.WORKERS, now=timezone.now(),
                                       again=True)
        dispatch(coordinator.day_start(record.pk, now=timezone.now()))
        while not BillingDay.objects.filter(pk=record.pk, status=DayStatus.FINISHED).exists():
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        record.refresh_from_db()
        return elapsed, clock.report_of(record)

    def _steps(self) -> None:
        """How long each step took on the workers (first chunk started to last done)."""
        for row in (DayChunk.objects.filter(day__day=BENCH_DAY, run=1).values("step")
                    .annotate(chunks=Count("id"), first=Min("started_at"),
                              last=Max("finished_at")).order_by("first")):
            seconds = (row["last"] - row["first"]).total_seconds()
            self.stdout.write(f"  step {row['step']:<10} {row['chunks']:>4} chunk(s) "
                              f"{seconds:7.2f} s")

    def _check(self, report, again, expected: dict) -> None:
        got = {"charged": report.charged, "renewed": len(report.renewed),
               "suspended": len(report.suspended_unpaid) + len(report.suspended_expired),
               "deleted": len(report.deleted), "reminders": report.reminders}
        if got != expected:
            raise CommandError(f"The day did {got}, not {expected}.")
        if (again.charged, again.renewed, again.suspended_unpaid, again.suspended_expired,
                again.deleted) != (0, [], [], [], []):
            raise CommandError(f"The re-run changed something: {again.lines()}")

    def _queued(self) -> str:
        return (f"Handed out for other workers: {ServiceOperation.objects.count()} "
                f"provisioning operation(s), {Notification.objects.count()} mail(s).")

    # The fill -------------------------------------------------------------------------------
    def _fill(self, services: int) -> dict:
        """N services over N/10 clients, ten each: daily servers at positions 0-2, monthly
        services 3-7, yearly 8-9. Returns what the day must do."""
        clients = services // 10
        provider = Provider.objects.create(
            name="Bench", currency="USD", is_default=True, renewal_lead_days=LEAD_DAYS,
            expiry_notice_days=NOTICE_DAYS)
        company = Company.objects.create(name="Bench Inc.", legal_name="Bench Inc.",
                                         country="US", address="1 Bench Road",
                                         invoice_prefix="B-")
        company.providers.add(provider)
        TaxRate.objects.create(company=company, country="", name="Sales tax",
                               rate=Decimal("0.0800"))
        daily = TariffPlan.objects.create(provider=provider, name="Bench daily",
                                          product_type=ProductType.VIRTUAL_SERVER,
                                          charging=Charging.DAILY, module="simulated",
                                          grace_days=GRACE_DAYS)
        PlanPrice.objects.create(plan=daily, period="month", price=Money("31.00", "USD"))
        monthly = TariffPlan.objects.create(provider=provider, name="Bench hosting",
                                            product_type=ProductType.SHARED_HOSTING,
                                            charging=Charging.PERIOD, module="simulated",
                                            grace_days=GRACE_DAYS)
        PlanPrice.objects.create(plan=monthly, period="month", price=Money("10.00", "USD"))
        disk = monthly.addons.create(name="Disk", code="disk", kind=AddonKind.QUANTITY,
                                     included=Decimal(10), minimum=Decimal(10),
                                     maximum=Decimal(100), step=Decimal(10),
                                     default_value=Decimal(10))
        disk.prices.create(period="month", price=Money("0.50", "USD"))
        yearly = TariffPlan.objects.create(provider=provider, name="Bench domain",
                                           product_type=ProductType.DOMAIN,
                                           charging=Charging.PERIOD, module="simulated",
                                           grace_days=GRACE_DAYS)
        PlanPrice.objects.create(plan=yearly, period="year", price=Money("12.00", "USD"))
        clearing = system_account(AccountKind.GATEWAY_CLEARING, "USD", key="bench")
        now = timezone.now()
        activated = now - timedelta(days=400)
        params = {"provider": provider.pk, "now": now, "activated": activated,
                  "clients": clients, "day": BENCH_DAY, "daily": daily.pk,
                  "monthly": monthly.pk, "yearly": yearly.pk, "grace": GRACE_DAYS,
                  "lead": LEAD_DAYS, "notice": NOTICE_DAYS, "clearing": clearing.pk,
                  "disk": disk.pk}
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in _FILL:
                cursor.execute(statement, params)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum keeps up to date
        poor = len(range(0, clients, 100))
        overdue = len(range(0, clients, 50))
        reminded = len(range(0, clients, 5))
        rich = clients - poor
        return {"charged": 3 * rich, "renewed": rich, "suspended": 4 * poor,
                "deleted": overdue, "reminders": reminded}

    def _plain_insert(self, rows: int) -> float:
        """As many rows as the day wrote to the ledger, written by one INSERT ... SELECT
        without the billing logic into the ledger's own charge table (its indexes, keys
        and foreign keys checked, then rolled back)."""
        derivation = json.dumps({"rule": "daily", "tariff": "Bench daily", "period": "month",
                                 "period_price": "31.00", "discount_percent": "0",
                                 "days": 31, "day": BENCH_DAY.day})
        with connection.cursor() as cursor:
            cursor.execute("SELECT min(id) FROM billing_transaction")
            params = {"day": BENCH_DAY + timedelta(days=1), "txn": cursor.fetchone()[0],
                      "derivation": derivation, "rows": rows}
            with transaction.atomic():
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                started = time.monotonic()
                cursor.execute("""
                    INSERT INTO billing_charge (client_id, service_id, kind, description,
                                                period_start, period_end, amount, tax,
                                                tax_rate, currency, transaction_id,
                                                derivation, created_at)
                    SELECT s.client_id, s.id, 'daily', 'Daily charge: ' || s.name, %(day)s,
                           %(day)s + 1, 1.0000, 0.0800, 0.0800, 'USD', %(txn)s,
                           %(derivation)s::jsonb, now()
                    FROM services_service s ORDER BY s.id LIMIT %(rows)s""", params)
                elapsed = time.monotonic() - started
                transaction.set_rollback(True)
        return elapsed


def _ledger_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("""SELECT (SELECT count(*) FROM billing_transaction)
                                 + (SELECT count(*) FROM billing_entry)
                                 + (SELECT count(*) FROM billing_charge)""")
        return cursor.fetchone()[0]


# The bench's services, ten per client c (c from 0): positions 0-2 daily servers, 3-7
# monthly hosting (position 3 renews today: it expires within the lead days; position 4
# of every fifth client expires in a week, and is reminded), 8-9 yearly domains. Every
# hundredth client has no money (its daily servers stop, its renewal waits and its
# expired service stops); every fiftieth has a domain stopped past its grace period.
_FILL = [
    """INSERT INTO accounts_client (provider_id, kind, name, email, phone, notes, created_at)
       SELECT %(provider)s, 'person', 'Client ' || i, 'c' || i || '@bench.example', '', '',
              %(now)s
       FROM generate_series(0, %(clients)s - 1) i""",
    """INSERT INTO billing_ledgeraccount (code, kind, name, currency, client_id, balance,
                                          credit_limit, held, created_at)
       SELECT 'client:' || id, 'client', 'Personal account', 'USD', id, 0, 0, 0, %(now)s
       FROM accounts_client WHERE provider_id = %(provider)s""",
    """INSERT INTO billing_transaction (created_at, kind, description, idempotency_key,
                                        details, actor_label)
       VALUES (%(now)s, 'topup', 'Bench top-ups', 'bench-topup', '{}'::jsonb, 'bench')""",
    # Everyone but every hundredth client has 1000.00.
    """WITH funded AS (
           SELECT a.id FROM billing_ledgeraccount a JOIN accounts_client c ON c.id = a.client_id
           WHERE a.kind = 'client' AND (c.id - (SELECT min(id) FROM accounts_client)) %% 100 <> 0)
       INSERT INTO billing_entry (transaction_id, account_id, amount, currency)
       SELECT t.id, f.id, 1000, 'USD' FROM funded f,
              (SELECT id FROM billing_transaction WHERE idempotency_key = 'bench-topup') t
       UNION ALL
       SELECT t.id, %(clearing)s, -1000 * (SELECT count(*) FROM funded), 'USD'
       FROM (SELECT id FROM billing_transaction WHERE idempotency_key = 'bench-topup') t""",
    """WITH c AS (SELECT id, (id - (SELECT min(id) FROM accounts_client))::int AS n
                  FROM accounts_client WHERE provider_id = %(provider)s),
       slots AS (SELECT c.id AS client_id, c.n, p AS position FROM c
                 CROSS JOIN generate_series(0, 9) p)
       INSERT INTO services_service (client_id, plan_id, name, billing_period, status,
                                     operation, suspend_reason, parameters, auto_renew,
                                     expires_on, anchor_day, unpaid_since, created_at,
                                     activated_at, suspended_at)
       SELECT client_id,
              CASE WHEN position < 3 THEN %(daily)s WHEN position < 8 THEN %(monthly)s
                   ELSE %(yearly)s END,
              'svc-' || client_id || '-' || position,
              CASE WHEN position < 8 THEN 'month' ELSE 'year' END,
              CASE WHEN position = 9 AND n %% 50 = 0 THEN 'suspended' ELSE 'active' END,
              '',
              CASE WHEN position = 9 AND n %% 50 = 0 THEN 'expired' ELSE '' END,
              '{}', position >= 3 AND NOT (position = 9 AND n %% 50 = 0),
              CASE
                WHEN position < 3 THEN NULL
                -- due today: the poor clients' on the day itself, so it also expires
                WHEN position = 3 THEN %(day)s + CASE WHEN n %% 100 = 0 THEN 0
                                                      ELSE %(lead)s END
                WHEN position = 4 AND n %% 5 = 0 THEN %(day)s + %(notice)s
                WHEN position < 8 THEN %(day)s + %(notice)s + 1 + (n + position) %% 20
                WHEN position = 9 AND n %% 50 = 0 THEN %(day)s - %(grace)s - 1
                ELSE %(day)s + 30 + (n * 7 + position) %% 300
              END,
              NULL,
              CASE WHEN position = 9 AND n %% 50 = 0 THEN %(day)s - %(grace)s - 1 END,
              %(now)s, %(activated)s,
              CASE WHEN position = 9 AND n %% 50 = 0 THEN %(now)s END
       FROM slots""",
    # Every monthly service has 20 GB of disk: 10 above the included, 5.00 a month.
    """INSERT INTO services_serviceaddon (service_id, addon_id, quantity)
       SELECT id, %(disk)s, 20 FROM services_service WHERE plan_id = %(monthly)s""",
]


class _workers:
    """Celery worker processes of the bench (its database, its queue), taking only the
    clock's chunks; stopped (and waited for) on exit."""

    def __init__(self, count: int):
        self.count = count

    def __enter__(self) -> str:
        self.log = Path(tempfile.mkstemp(prefix="bench-worker-", suffix=".log")[1])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel",
             "WARNING", "--pool", "prefork", "--concurrency", str(self.count),
             "--without-mingle", "--without-gossip", "-Q", settings.CELERY_CLOCK_QUEUE,
             "--hostname", f"bench-{uuid.uuid4().hex[:8]}@%h"],
            cwd=settings.BASE_DIR, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CommandError(f"The workers did not start:\n{self.log.read_text()}")
            replies = current_app.control.ping(timeout=1.0) or []
            if any(name.startswith("bench-") for reply in replies for name in reply):
                return str(self.log)
        raise CommandError("The workers did not answer within two minutes.")

    def __exit__(self, *exc) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

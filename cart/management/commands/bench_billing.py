"""Benchmark of the billing clock's daily run.

    manage.py bench_billing --services 1000000 [--workers 2] [--chunk-size 10000]

Creates a fresh database next to the configured one (``<name>_bench``), migrates it,
fills it set-based with N active daily-charged services over N/10 clients, and times:
one daily run (run_s), the same day again (rerun_s, which must charge nothing), and a
plain INSERT ... SELECT of N ledger-like rows into an indexed table on the same server
(insert_select_s), the floor any way of writing N rows must pay. The last line is
machine-readable:

    bench_billing services=N run_s=X rerun_s=Y insert_select_s=Z ratio=R peak_rss_mb=M
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, transaction

from billing.charging import CHUNK_SIZE

BENCH_DAY = date(2027, 3, 15)


class Command(BaseCommand):
    help = "Time one daily billing run over N services in a fresh database."

    def add_arguments(self, parser):
        parser.add_argument("--services", type=int, default=100_000)
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)
        parser.add_argument("--inner", action="store_true", help="(internal)")

    def handle(self, *args, services, workers, chunk_size, inner, **options):
        if services < 10:
            raise CommandError("--services must be at least 10.")
        if not inner:
            return self._outer(services, workers, chunk_size)
        self._inner(services, workers, chunk_size)

    # The fresh database ---------------------------------------------------------------------
    def _outer(self, services: int, workers: int, chunk_size: int) -> None:
        name, env = self._bench_database()
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        self.stdout.write(f"Fresh database {name}: migrating ...")
        subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True)
        subprocess.run([*manage, "bench_billing", "--inner", "--services", str(services),
                        "--workers", str(workers), "--chunk-size", str(chunk_size)],
                       env=env, check=True)

    def _bench_database(self) -> tuple[str, dict]:
        settings_dict = connection.settings_dict
        name = f"{settings_dict['NAME']}_bench"
        env = dict(os.environ)
        if settings.EMBEDDED_DATABASE:
            env["EMBEDDED_DATABASE_NAME"] = name
        else:
            parts = urlsplit(os.environ["DATABASE_URL"])
            env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
            env.setdefault("SECRET_KEY", settings.SECRET_KEY)
        connection.ensure_connection()
        params = connection.get_connection_params()
        params["dbname"] = "postgres"
        with psycopg.connect(**params, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        return name, env

    # The run ------------------------------------------------------------------------------
    def _inner(self, services: int, workers: int, chunk_size: int) -> None:
        from cart import clock

        started = time.monotonic()
        self._fill(services)
        self.stdout.write(f"Filled {services} services over {services // 10} clients in "
                          f"{time.monotonic() - started:.1f} s")
        runner = _pool_runner(workers)

        started = time.monotonic()
        report = clock.run_day(BENCH_DAY, chunk_size=chunk_size, runner=runner)
        run_s = time.monotonic() - started
        if report.charged != services:
            raise CommandError(f"Charged {report.charged} of {services} services.")
        self.stdout.write(f"Daily run: {report.charged} charged, "
                          f"{report.amounts} in {run_s:.2f} s")

        started = time.monotonic()
        again = clock.run_day(BENCH_DAY, chunk_size=chunk_size, runner=runner)
        rerun_s = time.monotonic() - started
        if again.charged != 0:
            raise CommandError(f"The re-run charged {again.charged} services.")
        self.stdout.write(f"Same-day re-run: nothing charged in {rerun_s:.2f} s")

        insert_select_s, bare_s = self._plain_insert(services)
        self.stdout.write(f"Plain INSERT ... SELECT of {services} charge rows: "
                          f"{insert_select_s:.2f} s into the ledger's charge table, "
                          f"{bare_s:.2f} s into a bare table")
        from billing.audit import audit

        problems = audit()
        if problems:
            raise CommandError(f"The books do not balance: {problems[:3]}")
        peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        self.stdout.write(
            f"bench_billing services={services} run_s={run_s:.2f} rerun_s={rerun_s:.2f} "
            f"insert_select_s={insert_select_s:.2f} ratio={run_s / insert_select_s:.2f} "
            f"peak_rss_mb={peak:.0f}")

    def _fill(self, services: int) -> None:
        from django.utils import timezone
        from djmoney.money import Money

        from accounts.models import Company, Provider
        from billing.ledger import system_account
        from billing.models import AccountKind, TaxRate
        from services.models import Charging, PlanPrice, ProductType, TariffPlan

        clients = services // 10
        provider = Provider.objects.create(name="Bench", currency="USD", is_default=True)
        company = Company.objects.create(name="Bench Inc.", legal_name="Bench Inc.",
                                         country="US", address="1 Bench Road",
                                         invoice_prefix="B-")
        company.providers.add(provider)
        # Every bench client is taxed (a sales tax on all of them), so the day's tax path
        # is in the figure: rates looked up per chunk, a tax leg per company.
        TaxRate.objects.create(company=company, country="", name="Sales tax",
                               rate=Decimal("0.0800"))
        plan = TariffPlan.objects.create(provider=provider, name="Bench daily",
                                         product_type=ProductType.VIRTUAL_SERVER,
                                         charging=Charging.DAILY, module="simulated")
        PlanPrice.objects.create(plan=plan, period="month", price=Money("31.00", "USD"))
        clearing = system_account(AccountKind.GATEWAY_CLEARING, "USD", key="bench")
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("""
                INSERT INTO accounts_client (provider_id, kind, name, email, phone, notes,
                                             created_at)
                SELECT %s, 'person', 'Client ' || i, 'c' || i || '@bench.example', '', '', %s
                FROM generate_series(1, %s) i""", [provider.pk, now, clients])
            cursor.execute("""
                INSERT INTO billing_ledgeraccount (code, kind, name, currency, client_id,
                                                   balance, credit_limit, held, created_at)
                SELECT 'client:' || id, 'client', 'Personal account', 'USD', id, 0, 0, 0, %s
                FROM accounts_client WHERE provider_id = %s""", [now, provider.pk])
            cursor.execute("""
                INSERT INTO billing_transaction (created_at, kind, description,
                                                 idempotency_key, details, actor_label)
                VALUES (%s, 'topup', 'Bench top-ups', 'bench-topup', '{}'::jsonb, 'bench')
                RETURNING id""", [now])
            txn = cursor.fetchone()[0]
            cursor.execute("""
                INSERT INTO billing_entry (transaction_id, account_id, amount, currency)
                SELECT %(txn)s, id, 1000, 'USD' FROM billing_ledgeraccount
                 WHERE kind = 'client'
                UNION ALL
                SELECT %(txn)s, %(clearing)s, -1000 * count(*), 'USD'
                  FROM billing_ledgeraccount WHERE kind = 'client'""",
                           {"txn": txn, "clearing": clearing.pk})
            cursor.execute("""
                INSERT INTO services_service (client_id, plan_id, name, billing_period, status,
                                              operation, suspend_reason, parameters, auto_renew,
                                              created_at, activated_at)
                SELECT c.id, %s, 'vps-' || c.id || '-' || n, 'month', 'active', '', '', '{}',
                       false, %s, %s
                FROM accounts_client c CROSS JOIN generate_series(1, 10) n
                WHERE c.provider_id = %s""",
                           [plan.pk, now, now - timedelta(days=400), provider.pk])
        # What autovacuum keeps up to date on a live database.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    def _plain_insert(self, rows: int) -> tuple[float, float]:
        """The same number of charge rows written by one INSERT ... SELECT, without the
        billing logic: into the ledger's own charge table (its indexes, one-a-day key and
        foreign keys checked, then rolled back), and for reference into a bare table of
        the same shape with only a primary key."""
        derivation = json.dumps({"rule": "daily", "tariff": "Bench daily", "period": "month",
                                 "period_price": "31.00", "discount_percent": "0",
                                 "days": 31, "day": BENCH_DAY.day})
        select = """
            SELECT s.client_id, s.id, 'daily', 'Daily charge: ' || s.name, %(day)s,
                   %(day)s + 1, 1.0000, 0, 0, 'USD', %(txn)s, %(derivation)s::jsonb, now()
            FROM services_service s"""
        columns = """(client_id, service_id, kind, description, period_start, period_end,
                      amount, tax, tax_rate, currency, transaction_id, derivation,
                      created_at)"""
        with connection.cursor() as cursor:
            cursor.execute("SELECT min(id) FROM billing_transaction")
            params = {"day": BENCH_DAY + timedelta(days=1), "txn": cursor.fetchone()[0],
                      "derivation": derivation}
            with transaction.atomic():
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                started = time.monotonic()
                cursor.execute(f"INSERT INTO billing_charge {columns} {select}", params)
                ledger = time.monotonic() - started
                transaction.set_rollback(True)
            cursor.execute("CREATE TABLE bench_plain_rows "
                           "(LIKE billing_charge INCLUDING DEFAULTS INCLUDING IDENTITY)")
            cursor.execute("ALTER TABLE bench_plain_rows ADD PRIMARY KEY (id)")
            started = time.monotonic()
            cursor.execute(f"INSERT INTO bench_plain_rows {columns} {select}", params)
            bare = time.monotonic() - started
            cursor.execute("DROP TABLE bench_plain_rows")
        return ledger, bare


def _pool_runner(workers: int):
    """Chunks spread over ``workers`` processes (each with its own database connection),
    as Celery workers would take them."""
    def run(as_of, ranges):
        from billing import charging

        if workers <= 1 or len(ranges) <= 1:
            return [charging.charge_daily_chunk(as_of, lo, hi) for lo, hi in ranges]
        connections.close_all()
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(_chunk, [(as_of, lo, hi) for lo, hi in ranges]))

    return run


def _chunk(arguments):
    from billing import charging

    as_of, lo, hi = arguments
    return charging.charge_daily_chunk(as_of, lo, hi)

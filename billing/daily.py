"""Daily charging: one day of the daily-charged services of a range of clients, set-based.

``charge_daily_chunk(as_of, lo, hi)`` charges one day of every due daily service of the
clients with ids in [lo, hi]: the due services and their day amounts and tax are computed
in one query, paid in order of service id while each client's balance plus credit limit
covers them, and written as one ledger transaction (a charge per service, one debit entry
per client, one revenue and one tax entry per company and currency). A daily charge is
unique by (service, day) in the database, so a chunk that runs twice, or two workers on
the same chunk, charge each service once. Services that cannot be paid are returned, for
the billing clock (``engine``) to suspend; ``DUE_PER_CLIENT`` is how many services each
client has due, from which the clock cuts its chunks.

The day amount follows ``billing.calculators.daily_amount`` (a per-day price as it is; a
per-month price spread over the calendar month with the remainder on its last days); the
SQL below computes the same figure and a test holds the two together. ``day_amount`` is
the same figure for one service, in Python.
"""

from __future__ import annotations

import calendar
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from djmoney.money import Money

from accounts.models import Client, Company
from accounts.selectors import company_for_provider
from billing.calculators import daily_amount
from billing.invoicing import default_payer
from billing.ledger import system_account
from billing.models import AccountKind, LedgerAccount
from billing.selectors import group_discount_percent
from billing.taxes import NO_TAX, client_treatments, tax_of, tax_treatment
from core.days import start_of
from core.money import minor_unit_places, money_sum, round_money
from services.models import Charging, Service
from services.pricing import PriceNotAvailable, price_lines, service_addon_values

logger = logging.getLogger(__name__)
# Which daily services are charged: running ones, busy ones that ran before, and ones the
# client suspended (their resources stay reserved). Not: ordered, stopped for debt, by
# staff or for abuse, deleted.
CHARGED = """(s.status = 'active'
    OR (s.status = 'in_progress' AND s.activated_at IS NOT NULL AND s.operation <> 'deletion')
    OR (s.status = 'suspended' AND s.suspend_reason = 'client'))"""


# How many daily services each client has due on %(day)s (its day ends at %(day_end)s):
# the billing clock cuts its chunks from this.
DUE_PER_CLIENT = f"""
    SELECT s.client_id, count(*) AS n FROM services_service s
    JOIN services_tariffplan p ON p.id = s.plan_id AND p.charging = 'daily'
    WHERE {CHARGED} AND s.activated_at < %(day_end)s
    GROUP BY s.client_id"""


def day_bounds(as_of: date) -> datetime:
    """The end of the day: a service activated before it is charged for the day."""
    return timezone.make_aware(datetime.combine(as_of + timedelta(days=1), time.min))


@dataclass
class ChunkResult:
    charged: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)
    unpaid: list[int] = field(default_factory=list)
    # Clients whose balance pays fewer days of today's charges than their provider's
    # low_balance_days: their reminder goes out after the chunk.
    low_balance: list[int] = field(default_factory=list)
    # Services whose plan or addon has no price for their period: not charged (never as
    # free), reported for staff to fix.
    unpriced: list[int] = field(default_factory=list)

    def merge(self, other: ChunkResult) -> None:
        self.charged += other.charged
        for currency, amount in other.amounts.items():
            self.amounts[currency] = self.amounts.get(currency, Decimal(0)) + amount
        self.unpaid.extend(other.unpaid)
        self.low_balance.extend(other.low_balance)
        self.unpriced.extend(other.unpriced)


# The day's charge of a chunk, as one statement. Its parts, in order:
# - svc: the chunk's daily services due today, with their plan's price for their period;
# - addons, discounts: what their addons add and the best group discount that applies;
# - priced, split, amounts: the period price, its share for today by the rule of
#   billing.calculators.daily_amount (the price in minor units spread over the month's
#   days, the remainder one unit a day on the last days), less the discount;
# - taxed: its tax at the client's rate (billing.taxes.tax_of; rates passed in);
# - due: whether the client's balance plus credit limit pays it (net and tax), in order
#   of service id;
# - txn, inserted, entries: one ledger transaction with a charge per paid service (net
#   and tax), a debit per client, a credit per company's revenue account (the nets) and
#   per company's tax account (the taxes); nothing when nothing is paid.
# The statement returns what it charged, the services it could not pay (for suspension)
# and the clients whose balance now pays fewer days than their provider's low-balance days.
_DAY_SQL = f"""
WITH svc AS MATERIALIZED (
    SELECT s.id AS service_id, s.client_id, s.name, s.billing_period AS period, s.plan_id,
           p.product_type, pp.price AS plan_price, pr.low_balance_days, co.company_id
    FROM services_service s
    JOIN services_tariffplan p ON p.id = s.plan_id AND p.charging = 'daily'
    JOIN accounts_client c ON c.id = s.client_id
    JOIN accounts_provider pr ON pr.id = c.provider_id AND pr.currency = %(currency)s
    LEFT JOIN (SELECT provider_id, min(company_id) AS company_id
               FROM accounts_company_providers GROUP BY provider_id) co
      ON co.provider_id = c.provider_id
    -- A plan or addon with no price for the service's period is never charged as free:
    -- its period price is NULL below, and the service is reported unpriced.
    LEFT JOIN services_planprice pp ON pp.plan_id = s.plan_id
                                   AND pp.period = s.billing_period
    -- Today's charge looked up service by service in the one-a-day index. (A NOT EXISTS
    -- leaves the plan to the statistics, which lag behind a table the run itself fills:
    -- a plan that scans the day's charges once per service turns a run quadratic.)
    LEFT JOIN LATERAL (SELECT true AS charged FROM billing_charge ch
                       WHERE ch.service_id = s.id AND ch.kind = 'daily'
                         AND ch.period_start = %(day)s LIMIT 1) today ON true
    WHERE s.client_id BETWEEN %(lo)s AND %(hi)s AND {CHARGED}
      AND s.activated_at < %(day_end)s
      AND s.billing_period IN ('day', 'month')
      AND today.charged IS NULL),
addons AS (
    SELECT sa.service_id, sum(round(CASE a.kind
        WHEN 'quantity' THEN greatest(sa.quantity - a.included, 0) * ap.price
        WHEN 'toggle' THEN CASE WHEN sa.quantity > 0 THEN ap.price ELSE 0 END
        ELSE ap.price END, %(places)s)) AS amount,
           -- services.pricing.addon_amount: a choice with no price is free, a toggle that
           -- is off costs nothing; any other addon with no price for the period is
           -- missing its price.
           bool_or(ap.id IS NULL AND (a.kind = 'quantity'
                                      OR (a.kind = 'toggle' AND sa.quantity > 0))) AS unpriced
    FROM svc
    JOIN services_serviceaddon sa ON sa.service_id = svc.service_id
    JOIN services_addon a ON a.id = sa.addon_id AND a.is_active AND a.kind <> 'metered'
    LEFT JOIN services_addonprice ap ON ap.addon_id = a.id AND ap.period = svc.period
     AND ap.choice_id IS NOT DISTINCT FROM (CASE WHEN a.kind = 'choice' THEN sa.choice_id END)
    GROUP BY sa.service_id),
discounts AS (
    SELECT svc.service_id, max(d.percent) AS percent
    FROM svc
    JOIN accounts_client_groups cg ON cg.client_id = svc.client_id
    JOIN billing_groupdiscount d ON d.group_id = cg.clientgroup_id
    -- billing.selectors.group_discounts: a discount runs at an instant when it has begun
    -- and not ended; the clock's instant for a day is the day's start.
    WHERE (d.valid_from IS NULL OR d.valid_from <= %(now)s)
      AND (d.valid_until IS NULL OR d.valid_until >= %(now)s)
      AND (jsonb_array_length(d.product_types) = 0 OR d.product_types ? svc.product_type)
      AND (NOT EXISTS (SELECT 1 FROM billing_groupdiscount_plans dp
                       WHERE dp.groupdiscount_id = d.id)
           OR EXISTS (SELECT 1 FROM billing_groupdiscount_plans dp
                      WHERE dp.groupdiscount_id = d.id AND dp.tariffplan_id = svc.plan_id))
    GROUP BY svc.service_id),
priced AS MATERIALIZED (
    SELECT svc.*, CASE WHEN coalesce(ad.unpriced, false) THEN NULL
                       ELSE round(svc.plan_price, %(places)s) + coalesce(ad.amount, 0)
                  END AS period_price,
           coalesce(ds.percent, 0) AS discount_percent
    FROM svc LEFT JOIN addons ad USING (service_id) LEFT JOIN discounts ds USING (service_id)),
split AS MATERIALIZED (
    SELECT priced.*, CASE WHEN period = 'day' THEN period_price ELSE
        round((units / %(days)s + CASE WHEN %(day_index)s > %(days)s - units %% %(days)s
                                       THEN 1 ELSE 0 END)::numeric / %(scale)s, %(places)s)
        END AS day_price
    FROM priced, LATERAL (SELECT (period_price * %(scale)s)::bigint AS units) u),
amounts AS MATERIALIZED (
    SELECT split.*,
           day_price - round(day_price * discount_percent / 100, %(places)s) AS amount
    FROM split),
taxed AS MATERIALIZED (
    -- billing.taxes.tax_of: the day's net times the client's rate, rounded half away
    -- from zero (the rates come from billing.taxes.client_treatments).
    SELECT amounts.*, coalesce(t.rate, 0) AS tax_rate,
           round(amount * coalesce(t.rate, 0), %(places)s) AS tax
    FROM amounts
    LEFT JOIN unnest(%(tax_clients)s::bigint[], %(tax_rates)s::numeric[]) t (client_id, rate)
      ON t.client_id = amounts.client_id),
due AS MATERIALIZED (
    SELECT taxed.*, amount + tax AS gross, a.id AS account_id,
           a.balance + a.credit_limit - a.held AS available,
           coalesce(sum(amount + tax) OVER (PARTITION BY taxed.client_id ORDER BY service_id)
                    <= a.balance + a.credit_limit - a.held, false) AS payable
    FROM taxed LEFT JOIN billing_ledgeraccount a
      ON a.client_id = taxed.client_id AND a.kind = 'client'
    WHERE amount > 0),
txn AS (
    INSERT INTO billing_transaction (created_at, kind, description, idempotency_key,
                                     client_id, details, actor_label)
    SELECT %(now)s, 'charge', %(description)s, %(key)s, NULL, %(details)s::jsonb,
           'billing clock'
    WHERE EXISTS (SELECT 1 FROM due WHERE payable)
    RETURNING id),
derivations AS (
    -- Built once per tariff, price, discount and tax rate: most services of a chunk
    -- share one.
    SELECT k.*, jsonb_build_object(
               'rule', 'daily', 'tariff', p.name, 'tariff_version', p.updated_at,
               'period', k.period, 'period_price', k.period_price,
               'discount_percent', k.discount_percent, 'days', %(days)s,
               'day', %(day_index)s, 'net', k.amount, 'tax_rate', k.tax_rate,
               'tax', k.tax) AS derivation
    FROM (SELECT DISTINCT plan_id, period, period_price, discount_percent, amount, tax_rate,
                 tax
          FROM due WHERE payable) k
    JOIN services_tariffplan p ON p.id = k.plan_id),
inserted AS (
    -- No ON CONFLICT: the chunk holds its clients' personal accounts, so nobody else
    -- charges them meanwhile, and a duplicate would be an error worth failing on.
    INSERT INTO billing_charge (client_id, service_id, kind, description, period_start,
                                period_end, amount, tax, tax_rate, currency, transaction_id,
                                derivation, created_at)
    SELECT d.client_id, d.service_id, 'daily', 'Daily charge: ' || d.name, %(day)s,
           %(next_day)s, d.gross, d.tax, d.tax_rate, %(currency)s, txn.id, dv.derivation,
           %(now)s
    FROM due d CROSS JOIN txn
    JOIN derivations dv USING (plan_id, period, period_price, discount_percent, amount,
                               tax_rate, tax)
    WHERE d.payable
    RETURNING client_id, amount),
per_client AS (
    SELECT d.client_id, d.account_id, d.available, d.low_balance_days, d.company_id,
           sum(d.gross) AS total, sum(d.amount) AS net, sum(d.tax) AS tax
    FROM due d WHERE d.payable
    GROUP BY d.client_id, d.account_id, d.available, d.low_balance_days, d.company_id),
revenue AS (
    SELECT * FROM unnest(%(companies)s::bigint[], %(revenue_accounts)s::bigint[],
                         %(tax_accounts)s::bigint[])
      AS r (company_id, account_id, tax_account_id)),
legs AS (
    SELECT account_id, -total AS amount FROM per_client
    UNION ALL
    SELECT r.account_id, sum(pc.net) FROM per_client pc
    JOIN revenue r ON r.company_id IS NOT DISTINCT FROM pc.company_id
    GROUP BY r.account_id
    UNION ALL
    SELECT r.tax_account_id, sum(pc.tax) FROM per_client pc
    JOIN revenue r ON r.company_id IS NOT DISTINCT FROM pc.company_id
    GROUP BY r.tax_account_id),
entries AS (
    INSERT INTO billing_entry (transaction_id, account_id, amount, currency)
    SELECT txn.id, legs.account_id, legs.amount, %(currency)s FROM legs CROSS JOIN txn
    WHERE legs.amount <> 0
    RETURNING 1)
SELECT (SELECT count(*) FROM inserted),
       (SELECT coalesce(sum(amount), 0) FROM inserted),
       (SELECT count(*) FROM entries),
       (SELECT coalesce(array_agg(service_id ORDER BY service_id), '{{}}')
          FROM due WHERE NOT payable),
       (SELECT coalesce(array_agg(client_id ORDER BY client_id), '{{}}') FROM per_client
         WHERE available - total < total * low_balance_days),
       (SELECT coalesce(array_agg(service_id ORDER BY service_id), '{{}}') FROM priced
         WHERE period_price IS NULL)
"""


def charge_daily_chunk(as_of: date, lo: int, hi: int) -> ChunkResult:
    """Charge one day of the due daily services of clients lo..hi, per currency."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT pr.currency, array_agg(DISTINCT (
                SELECT min(cp.company_id) FROM accounts_company_providers cp
                WHERE cp.provider_id = pr.id))
            FROM accounts_provider pr
            WHERE EXISTS (SELECT 1 FROM accounts_client c WHERE c.provider_id = pr.id
                          AND c.id BETWEEN %s AND %s)
            GROUP BY pr.currency""", [lo, hi])
        currencies = cursor.fetchall()
    result = ChunkResult()
    for currency, companies in currencies:
        result.merge(_charge_chunk_currency(as_of, lo, hi, currency, companies))
    return result


@transaction.atomic
def _charge_chunk_currency(as_of: date, lo: int, hi: int, currency: str,
                           companies: list[int | None]) -> ChunkResult:
    revenue = [_revenue_account(company, currency).pk for company in companies]
    taxes = [_tax_account(company, currency).pk for company in companies]
    tax_clients, tax_rates = _chunk_tax_rates(lo, hi, currency)
    params = {"lo": lo, "hi": hi, "day": as_of, "next_day": as_of + timedelta(days=1),
              "day_end": day_bounds(as_of), "currency": currency,
              "places": minor_unit_places(currency), "scale": 10 ** minor_unit_places(currency),
              "days": calendar.monthrange(as_of.year, as_of.month)[1],
              "day_index": as_of.day, "now": start_of(as_of),
              "description": f"Daily charges of {as_of}, clients {lo}-{hi}",
              "key": f"daily:{as_of}:{lo}-{hi}:{currency}:{uuid.uuid4().hex}",
              "details": json.dumps({"day": str(as_of), "clients": [lo, hi]}),
              "companies": companies, "revenue_accounts": revenue, "tax_accounts": taxes,
              "tax_clients": tax_clients, "tax_rates": tax_rates}
    with connection.cursor() as cursor:
        # The chunk's running sums and scratch sets stay in memory.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        # Lock the personal accounts of the chunk in id order: a checkout that locks one of
        # them waits, and no two jobs lock the same accounts in a different order. The
        # statement below starts after the locks, so it sees every charge made before.
        cursor.execute("""SELECT id FROM billing_ledgeraccount WHERE kind = 'client'
                          AND client_id BETWEEN %s AND %s AND currency = %s
                          ORDER BY id FOR UPDATE""", [lo, hi, currency])
        cursor.execute(_DAY_SQL, params)
        charged, amount, _, unpaid, low_balance, unpriced = cursor.fetchone()
    if unpriced:
        logger.warning("Daily services not charged on %s: no price for their period: %s",
                       as_of, unpriced)
    result = ChunkResult(unpaid=list(unpaid), low_balance=list(low_balance),
                         unpriced=list(unpriced))
    if charged:
        result.charged = charged
        result.amounts[currency] = amount
    return result


def _revenue_account(company_id: int | None, currency: str) -> LedgerAccount:
    company = Company.objects.filter(pk=company_id).first() if company_id else None
    return system_account(AccountKind.REVENUE, currency, company=company)


def _tax_account(company_id: int | None, currency: str) -> LedgerAccount:
    company = Company.objects.filter(pk=company_id).first() if company_id else None
    return system_account(AccountKind.TAX_PAYABLE, currency, company=company)


def _chunk_tax_rates(lo: int, hi: int, currency: str) -> tuple[list[int], list[Decimal]]:
    """The tax rate of every client of the chunk that has daily services and is taxed,
    by the one rule (billing.taxes), for the statement to read: a query per company."""
    daily = Service.objects.filter(client=OuterRef("pk"), plan__charging=Charging.DAILY)
    clients = Client.objects.filter(pk__range=(lo, hi), provider__currency=currency).filter(
        Exists(daily)).values_list("pk", "provider_id")
    by_provider: dict[int, list[int]] = {}
    for client_id, provider_id in clients:
        by_provider.setdefault(provider_id, []).append(client_id)
    ids, rates = [], []
    for provider_id, client_ids in by_provider.items():
        company = company_for_provider(provider_id)
        if company is None:
            continue
        for client_id, treatment in client_treatments(company, client_ids).items():
            if treatment.rate:
                ids.append(client_id)
                rates.append(treatment.rate)
    return ids, rates


def day_amount(service: Service, as_of: date) -> Money | None:
    """What one day of a daily service takes from the balance, by the same rules as the
    set-based charge: the period price split over the days, less the client group's
    discount, plus its tax."""
    try:
        lines = price_lines(service.plan, service.billing_period, service_addon_values(service),
                            include_setup=False)
    except PriceNotAvailable:
        return None
    day = daily_amount(money_sum((line.amount for line in lines), service.plan.currency),
                       service.billing_period, as_of)
    percent = group_discount_percent(service.client, service.plan, start_of(as_of))
    net = day - round_money(day * percent / 100) if percent else day
    company = company_for_provider(service.client.provider)
    treatment = tax_treatment(company, default_payer(service.client)) if company else NO_TAX
    return net + tax_of(net, treatment.rate)

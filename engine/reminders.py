"""The clock's reminders, set-based: what expires soon, and balances running low.

* A period service is announced ``expiry_notice_days`` (the provider's) before it expires,
  once per expiry date.
* A client whose balance pays fewer days of today's daily charges than the provider's
  ``low_balance_days`` is told once per low spell: the key is the balance's last credit,
  so the next reminder needs a top-up in between.
"""

from __future__ import annotations

from datetime import date

from django.db import connection
from djmoney.money import Money

from accounts.models import Client
from accounts.notifications import Notice, notify_many
from core.days import start_of
from core.money import format_money
from services.models import Service

# Active period services that expire the provider's notice days after %(day)s.
_EXPIRING = """
    FROM services_service s
    JOIN services_tariffplan p ON p.id = s.plan_id AND p.charging = 'period'
    JOIN accounts_client c ON c.id = s.client_id
    JOIN accounts_provider pr ON pr.id = c.provider_id
    WHERE s.status = 'active' AND s.expires_on = %(day)s + pr.expiry_notice_days"""
EXPIRING_PER_CLIENT = f"SELECT s.client_id, count(*) AS n {_EXPIRING} GROUP BY s.client_id"


def expiry_reminders(as_of: date, *, clients: tuple[int, int]) -> int:
    """Tell the clients ``clients`` which of their services expire soon."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT s.id {_EXPIRING} AND s.client_id BETWEEN %(lo)s AND %(hi)s",
                       {"day": as_of, "lo": clients[0], "hi": clients[1]})
        ids = [row[0] for row in cursor.fetchall()]
    expiring = Service.objects.filter(pk__in=ids).select_related("client").order_by("pk")
    return len(notify_many(event="expiry_soon", at=start_of(as_of), notices=[
        Notice(service.client, f"expiry:{service.pk}:{service.expires_on}",
               {"service": service, "expires_on": service.expires_on})
        for service in expiring]))


def low_balance_reminders(client_ids: list[int], as_of: date) -> int:
    """Tell the clients ``client_ids`` (their balance is low after today's charges) how
    many days it pays: one query for all of them."""
    if not client_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.id, a.balance, a.currency,
                   greatest(a.balance + a.credit_limit - a.held, 0), today.total,
                   last_credit.transaction_id
            FROM accounts_client c
            JOIN billing_ledgeraccount a ON a.client_id = c.id AND a.kind = 'client'
            LEFT JOIN LATERAL (SELECT sum(ch.amount) AS total FROM billing_charge ch
                               WHERE ch.client_id = c.id AND ch.kind = 'daily'
                                 AND ch.period_start = %(day)s) today ON true
            LEFT JOIN LATERAL (SELECT e.transaction_id FROM billing_entry e
                               WHERE e.account_id = a.id AND e.amount > 0
                               ORDER BY e.id DESC LIMIT 1) last_credit ON true
            WHERE c.id = ANY(%(clients)s)""", {"day": as_of, "clients": client_ids})
        rows = cursor.fetchall()
    clients = Client.objects.in_bulk([row[0] for row in rows])
    return len(notify_many(event="low_balance", at=start_of(as_of), notices=[
        Notice(clients[client_id], f"low_balance:{client_id}:{last_credit}", {
            "balance": format_money(Money(balance, currency)),
            "days": int(available // today) if today else 0})
        for client_id, balance, currency, available, today, last_credit in rows]))

"""The clock's audit check: every month it closed has its documents. Registered with
``billing.audit`` and run by ``manage.py billing_audit``."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings

from billing.audit import Problem, check, rows
from billing.closing import documented


@check
def months_closed_without_documents() -> Iterator[Problem]:
    """Once the clock has run a 1st (one that issues closing documents), every client
    charged without an invoice (day by day, for overages, for renewals from the balance)
    in the month before has its closing document."""
    for client, month in rows(f"""
        WITH charged AS (
            SELECT DISTINCT c.client_id,
                   date_trunc('month', c.created_at AT TIME ZONE %(tz)s)::date AS month
            FROM billing_charge c
            WHERE {documented("c")})
        SELECT ch.client_id, ch.month FROM charged ch
        JOIN accounts_client cl ON cl.id = ch.client_id
        WHERE EXISTS (SELECT 1 FROM accounts_company_providers cp
                      WHERE cp.provider_id = cl.provider_id)
          AND EXISTS (SELECT 1 FROM engine_billingday b WHERE b.finished_at IS NOT NULL
                      AND (b.stats -> 'steps' ? 'closing'
                           OR b.stats ? 'closing_documents')
                      AND b.day = (ch.month + interval '1 month')::date)
          AND NOT EXISTS (SELECT 1 FROM billing_closingdocument d
                          WHERE d.client_id = ch.client_id AND d.period_start = ch.month)
        ORDER BY 2, 1 LIMIT 100""", {"tz": settings.TIME_ZONE}):
        yield Problem("closing", f"client {client} was charged in {month:%Y-%m} but has no "
                                 "closing document for it")

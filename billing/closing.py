"""Monthly closing documents: what a client's personal account paid in a month without an
invoice (day by day, for overages, for renewals from the balance), documented once, on the
1st of the next (BILLmanager's acts of completion).

A charge that is not on an invoice (the clock's daily charges, overages and renewals paid
from the balance; the first day of a daily service bought in the cart is on its order's
invoice) belongs to the month the clock charged it in: its moment is its clock day's start
(a daily charge's own day; an overage's is the day its usage period was charged, so a
late one lands in the next document, never in none). ``closing_documents_issue`` writes,
per client and company with such charges in the month, one document listing each
service's charges per kind and tax rate (net, tax, gross), with the company and payer as
they are that day, numbered in the company's closing series. A unique key makes it once
per client, company and month, whatever re-runs; the charges are read in batches of
clients, each document written in a transaction of its own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Client, Company
from accounts.selectors import company_for_provider
from billing.invoicing import company_snapshot, default_payer, next_number, payer_snapshot
from billing.models import ClosingDocument, ClosingDocumentLine, TaxTreatmentCode
from billing.taxes import tax_treatment
from core.days import start_of
from services.periods import add_months

BATCH = 500  # clients read per query


# The kinds of charge a closing document lists when no invoice carries them.
DOCUMENTED_KINDS = ("daily", "overage", "renewal")


def documented(alias: str = "c") -> str:
    """The SQL condition of a charge that a closing document (not an invoice) documents."""
    kinds = ", ".join(f"'{kind}'" for kind in DOCUMENTED_KINDS)
    return f"{alias}.invoice_id IS NULL AND {alias}.kind IN ({kinds})"


def charges_in_month(alias: str = "c") -> str:
    """The SQL condition of a charge documented by a month's closing document, over
    ``billing_charge {alias}`` with the month's bounds as the moments %(from)s and %(to)s
    (the audit checks documents by the same condition)."""
    return (f"{documented(alias)} "
            f"AND {alias}.created_at >= %(from)s AND {alias}.created_at < %(to)s")


_CHARGES_SQL = f"""
    SELECT c.client_id, c.service_id, s.name, c.kind, c.tax_rate, count(*),
           min(c.period_start), max(c.period_end) - 1, sum(c.amount - c.tax), sum(c.tax),
           sum(c.amount), c.currency
    FROM billing_charge c LEFT JOIN services_service s ON s.id = c.service_id
    WHERE c.client_id = ANY(%(clients)s) AND {charges_in_month()}
    GROUP BY c.client_id, c.service_id, s.name, c.kind, c.tax_rate, c.currency
    ORDER BY c.client_id, s.name, c.service_id, c.kind, c.tax_rate"""

_LABELS = {"daily": gettext_noop("Daily charges"), "overage": gettext_noop("Overage"),
           "renewal": gettext_noop("Renewal")}


def month_bounds(month: date) -> tuple[date, date]:
    start = month.replace(day=1)
    return start, add_months(start, 1, anchor_day=1)


def closing_documents_issue(*, month: date, at: datetime,
                            clients: tuple[int, int] | None = None) -> int:
    """Issue the closing documents of ``month`` (any day of it) not issued yet (of the
    clients with ids in ``clients``, when given); ``at`` is their issue time (the clock's
    day, so a replay writes the replayed date). Returns how many were issued."""
    start, end = month_bounds(month)
    issued = 0
    candidates = _clients_with_charges(start, end, clients or (0, 2**63 - 1))
    for index in range(0, len(candidates), BATCH):
        batch = candidates[index:index + BATCH]
        with connection.cursor() as cursor:
            cursor.execute(_CHARGES_SQL, {"clients": batch, "from": start_of(start),
                                          "to": start_of(end)})
            rows = cursor.fetchall()
        by_client: dict[int, list[tuple]] = defaultdict(list)
        for row in rows:
            by_client[row[0]].append(row)
        clients = Client.objects.in_bulk(list(by_client))
        for client_id, lines in by_client.items():
            issued += _issue(clients[client_id], lines, start, end, at)
    return issued


# Clients that may have charges of the month %(month_start)s..%(month_end)s without a
# document yet, among the clients %(lo)s..%(hi)s: a daily service, a period service paid
# into the month (a renewal from the balance moved its expiry past the month's start), or
# usage ending in the month: looked up in the small tables, not the charges. One unit of
# work each (the clock's chunks).
_CANDIDATES = """
    SELECT s.client_id FROM services_service s
    JOIN services_tariffplan p ON p.id = s.plan_id AND p.charging = 'daily'
    WHERE s.client_id BETWEEN %(lo)s AND %(hi)s
      AND s.activated_at IS NOT NULL AND s.activated_at < %(month_end)s
    UNION
    SELECT s.client_id FROM services_service s
    JOIN services_tariffplan p ON p.id = s.plan_id AND p.charging = 'period'
    WHERE s.client_id BETWEEN %(lo)s AND %(hi)s AND s.expires_on > %(month_start)s
    UNION
    SELECT s.client_id FROM services_serviceusage u
    JOIN services_service s ON s.id = u.service_id
    -- charged when the usage period ends, by the clock of that day or (catching up) a
    -- little later
    WHERE s.client_id BETWEEN %(lo)s AND %(hi)s
      AND u.period_end > %(month_start)s - 40 AND u.period_end <= %(month_end)s
    EXCEPT
    SELECT client_id FROM billing_closingdocument
    WHERE client_id BETWEEN %(lo)s AND %(hi)s AND period_start = %(month_start)s"""
DUE_PER_CLIENT = f"SELECT client_id, 1 AS n FROM ({_CANDIDATES}) candidates"


def _clients_with_charges(start: date, end: date, clients: tuple[int, int]) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"{_CANDIDATES} ORDER BY 1",
                       {"month_start": start, "month_end": end, "lo": clients[0],
                        "hi": clients[1]})
        return [row[0] for row in cursor.fetchall()]


def _issue(client: Client, rows: list[tuple], start: date, end: date, at: datetime) -> int:
    company: Company | None = company_for_provider(client.provider)
    if company is None:
        return 0
    payer = default_payer(client)
    treatment = tax_treatment(company, payer)
    with translation.override(settings.LANGUAGE_CODE):
        lines = [(row, f"{_(_LABELS[row[3]])}: {row[2] or _('service #%s') % row[1]}"[:255])
                 for row in rows]
    try:
        with transaction.atomic():
            document = ClosingDocument.objects.create(
                company=company, client=client, payer=payer, currency=rows[0][11],
                number=next_number(company, client, timezone.localdate(at).year,
                                   series="closing"),
                period_start=start, period_end=end,
                subtotal=sum((row[8] for row in rows), Decimal(0)),
                tax_total=sum((row[9] for row in rows), Decimal(0)),
                total=sum((row[10] for row in rows), Decimal(0)),
                tax_note=treatment.note if treatment.code == TaxTreatmentCode.REVERSE_CHARGE
                else "",
                company_snapshot=company_snapshot(company),
                payer_snapshot=payer_snapshot(payer, client), issued_at=at)
            ClosingDocumentLine.objects.bulk_create([
                ClosingDocumentLine(
                    document=document, position=position, service_id=service_id, kind=kind,
                    description=description, quantity=count, period_start=first,
                    period_end=last, net=net, tax_rate=rate, tax=tax, gross=gross)
                for position, ((_client, service_id, _name, kind, rate, count, first, last,
                                net, tax, gross, _currency), description)
                in enumerate(lines)])
    except IntegrityError:
        # Issued meanwhile (another run of the same day): that is the one. Anything else
        # (a number taken by another series' prefix) is an error worth stopping for.
        if ClosingDocument.objects.filter(client=client, company=company,
                                          period_start=start).exists():
            return 0
        raise
    return 1

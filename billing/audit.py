"""Checks of every money invariant, as set-based SQL that scales with the ledger.

Each check returns the problems it finds as (code, message) pairs; no problems means
the books are sound. `manage.py billing_audit` runs them all.

The ledger's own checks are here; the layers above add theirs (did every captured
payment do what it was for, has every paid order its debit) in an ``audit`` module of
their own, registered with ``@check`` and found when Django starts (``BillingConfig``),
so this module never imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from billing.closing import charges_in_month
from core.money import minor_unit_places


@dataclass(frozen=True)
class Problem:
    code: str
    message: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


Check = Callable[[], Iterator[Problem]]
CHECKS: list[Check] = []


def check(function: Check) -> Check:
    """Register an audit check (from any app's ``audit`` module)."""
    CHECKS.append(function)
    return function


def rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@check
def unbalanced_transactions() -> Iterator[Problem]:
    for txn, currency, total in rows("""
        SELECT transaction_id, currency, sum(amount) FROM billing_entry
        GROUP BY transaction_id, currency HAVING sum(amount) <> 0 ORDER BY 1 LIMIT 100"""):
        yield Problem("zero-sum", f"transaction {txn} sums to {total} {currency}, not zero")


@check
def transactions_without_two_entries() -> Iterator[Problem]:
    for txn, count in rows("""
        SELECT t.id, count(e.id) FROM billing_transaction t
        LEFT JOIN billing_entry e ON e.transaction_id = t.id
        GROUP BY t.id HAVING count(e.id) < 2 ORDER BY 1 LIMIT 100"""):
        yield Problem("orphan", f"transaction {txn} has {count} entries (two or more needed)")


@check
def balances_differ_from_entries() -> Iterator[Problem]:
    for code, stored, summed in rows("""
        SELECT a.code, a.balance, coalesce(s.total, 0) FROM billing_ledgeraccount a
        LEFT JOIN (SELECT account_id, sum(amount) AS total FROM billing_entry
                   GROUP BY account_id) s ON s.account_id = a.id
        WHERE a.kind = 'client' AND a.balance <> coalesce(s.total, 0)
        ORDER BY 1 LIMIT 100"""):
        yield Problem("balance", f"account {code} stores {stored} but its entries sum to {summed}")


@check
def entries_of_another_client() -> Iterator[Problem]:
    """A client's transaction moves only that client's personal account. (The clock's
    batch transactions, with no client, move many; their charges account for each.)"""
    for entry, txn in rows("""
        SELECT e.id, t.id FROM billing_entry e
        JOIN billing_ledgeraccount a ON a.id = e.account_id
        JOIN billing_transaction t ON t.id = e.transaction_id
        WHERE a.kind = 'client' AND t.client_id IS NOT NULL
          AND t.client_id IS DISTINCT FROM a.client_id
        ORDER BY 1 LIMIT 100"""):
        yield Problem("orphan", f"entry {entry} moves a personal account that is not the "
                                f"client of its transaction {txn}")


@check
def paid_invoices_without_payment() -> Iterator[Problem]:
    """A paid invoice has the transaction that paid it, and that transaction moves the
    client's personal account by the invoice's total: a credit for an advance payment,
    a debit for services paid from the balance."""
    for number, reason in rows("""
        SELECT i.number,
               CASE WHEN t.id IS NULL THEN 'has no payment transaction'
                    WHEN t.client_id IS DISTINCT FROM i.client_id
                        THEN 'is paid by another client''s transaction'
                    ELSE 'is not matched by what its payment moved: '
                         || coalesce(abs(m.moved), 0) || ' for ' || i.total END
        FROM billing_invoice i
        LEFT JOIN billing_transaction t ON t.id = i.payment_transaction_id
        LEFT JOIN (SELECT e.transaction_id, sum(e.amount) AS moved FROM billing_entry e
                   JOIN billing_ledgeraccount a ON a.id = e.account_id
                   WHERE a.kind = 'client' GROUP BY e.transaction_id) m
               ON m.transaction_id = t.id
        WHERE i.status = 'paid' AND (t.id IS NULL OR t.client_id IS DISTINCT FROM i.client_id
                                     OR abs(coalesce(m.moved, 0)) <> i.total)
        ORDER BY 1 LIMIT 100"""):
        yield Problem("invoice-paid", f"paid invoice {number} {reason}")


@check
def invoice_totals() -> Iterator[Problem]:
    for number, subtotal, tax, total, lines_net, lines_tax in rows("""
        SELECT i.number, i.subtotal, i.tax_total, i.total, sum(l.net), sum(l.tax)
        FROM billing_invoice i JOIN billing_invoiceline l ON l.invoice_id = i.id
        WHERE i.status <> 'draft'
        GROUP BY i.id HAVING i.subtotal <> sum(l.net) OR i.tax_total <> sum(l.tax)
            OR i.total <> i.subtotal + i.tax_total
        ORDER BY 1 LIMIT 100"""):
        yield Problem("invoice-total", f"invoice {number}: {subtotal} + {tax} = {total} "
                                       f"but its lines say {lines_net} + {lines_tax}")


@check
def debits_without_charges() -> Iterator[Problem]:
    """What a transaction takes from each client equals that client's charges in it."""
    for txn, client, debited, charged in rows("""
        SELECT d.transaction_id, d.client_id, d.debited, coalesce(c.charged, 0) FROM (
            SELECT e.transaction_id, a.client_id, -sum(e.amount) AS debited
            FROM billing_entry e JOIN billing_ledgeraccount a ON a.id = e.account_id
            WHERE a.kind = 'client' AND e.amount < 0 GROUP BY e.transaction_id, a.client_id) d
        LEFT JOIN (SELECT transaction_id, client_id, sum(amount) AS charged
                   FROM billing_charge GROUP BY transaction_id, client_id) c
               ON c.transaction_id = d.transaction_id AND c.client_id = d.client_id
        WHERE d.debited <> coalesce(c.charged, 0)
        ORDER BY 1 LIMIT 100"""):
        yield Problem("expenses", f"transaction {txn} takes {debited} from client {client} "
                                  f"but its charges (expenses) add up to {charged}")


@check
def charges_without_debits() -> Iterator[Problem]:
    """Every charge is part of a debit of its client's personal account."""
    for txn, client, charged in rows("""
        SELECT c.transaction_id, c.client_id, sum(c.amount) FROM billing_charge c
        WHERE NOT EXISTS (
            SELECT 1 FROM billing_entry e JOIN billing_ledgeraccount a ON a.id = e.account_id
            WHERE e.transaction_id = c.transaction_id AND a.client_id = c.client_id
              AND e.amount < 0)
        GROUP BY c.transaction_id, c.client_id ORDER BY 1 LIMIT 100"""):
        yield Problem("expenses", f"transaction {txn} records charges of {charged} for client "
                                  f"{client} but takes nothing from its personal account")


@check
def amounts_not_in_minor_units() -> Iterator[Problem]:
    currencies = [row[0] for row in rows("SELECT DISTINCT currency FROM billing_entry")]
    for currency in currencies:
        places = minor_unit_places(currency)
        for entry, amount in rows(
                "SELECT id, amount FROM billing_entry WHERE currency = %s "
                "AND amount <> round(amount, %s) ORDER BY 1 LIMIT 100", [currency, places]):
            yield Problem("rounding", f"entry {entry} of {amount} {currency} is not in whole "
                                      f"minor units")


@check
def tax_posted_differs_from_documents() -> Iterator[Problem]:
    """Every transaction's entries to taxes payable are the tax its charges carried (any
    path: orders, renewals, changes, daily charges, overages) less the tax of the credit
    notes it pays out: no tax posted without its charge or note, none missing."""
    for txn, posted, charged, credited in rows("""
        WITH posted AS (
            SELECT e.transaction_id, sum(e.amount) AS tax FROM billing_entry e
            JOIN billing_ledgeraccount a ON a.id = e.account_id AND a.kind = 'tax'
            GROUP BY e.transaction_id),
        charged AS (
            SELECT transaction_id, sum(tax) AS tax FROM billing_charge WHERE tax <> 0
            GROUP BY transaction_id),
        credited AS (
            SELECT transaction_id, sum(tax_total) AS tax FROM billing_creditnote
            WHERE transaction_id IS NOT NULL AND tax_total <> 0 GROUP BY transaction_id)
        SELECT transaction_id, coalesce(p.tax, 0), coalesce(ch.tax, 0), coalesce(cr.tax, 0)
        FROM posted p FULL JOIN charged ch USING (transaction_id)
        FULL JOIN credited cr USING (transaction_id)
        WHERE coalesce(p.tax, 0) <> coalesce(ch.tax, 0) - coalesce(cr.tax, 0)
        ORDER BY 1 LIMIT 100"""):
        yield Problem("tax", f"transaction {txn} posts {posted} to taxes payable, but its "
                             f"charges carried {charged} and its credit notes {credited}")


@check
def closing_documents_differ_from_charges() -> Iterator[Problem]:
    """A closing document states exactly its month's daily charges and overages of its
    client (those on no invoice), and its lines add up to it."""
    in_month = charges_in_month().replace(
        "%(from)s", "(d.period_start::timestamp AT TIME ZONE %(tz)s)").replace(
        "%(to)s", "(d.period_end::timestamp AT TIME ZONE %(tz)s)")
    for number, net, tax, total, charged_net, charged_tax, charged, lines_total in rows(f"""
        SELECT d.number, d.subtotal, d.tax_total, d.total,
               coalesce(c.net, 0), coalesce(c.tax, 0), coalesce(c.total, 0),
               coalesce(l.total, 0)
        FROM billing_closingdocument d
        LEFT JOIN LATERAL (
            SELECT sum(c.amount - c.tax) AS net, sum(c.tax) AS tax, sum(c.amount) AS total
            FROM billing_charge c WHERE c.client_id = d.client_id AND {in_month}) c ON true
        LEFT JOIN LATERAL (SELECT sum(gross) AS total FROM billing_closingdocumentline
                           WHERE document_id = d.id) l ON true
        WHERE d.subtotal <> coalesce(c.net, 0) OR d.tax_total <> coalesce(c.tax, 0)
           OR d.total <> coalesce(c.total, 0) OR d.total <> coalesce(l.total, 0)
           OR d.total <> d.subtotal + d.tax_total
        ORDER BY 1 LIMIT 100""", {"tz": settings.TIME_ZONE}):
        yield Problem("closing", f"closing document {number} says {net} + {tax} = {total}; "
                                 f"its month's charges are {charged_net} + {charged_tax} = "
                                 f"{charged} and its lines {lines_total}")


@check
def holds_differ_from_open_holds() -> Iterator[Problem]:
    """What an account says it holds is the sum of its holds not yet released."""
    for code, held, open_holds in rows("""
        SELECT a.code, a.held, coalesce(h.total, 0) FROM billing_ledgeraccount a
        LEFT JOIN (SELECT account_id, sum(amount) AS total FROM billing_accounthold
                   WHERE released_at IS NULL GROUP BY account_id) h ON h.account_id = a.id
        WHERE a.held <> coalesce(h.total, 0)
        ORDER BY 1 LIMIT 100"""):
        yield Problem("hold", f"account {code} holds {held} but its open holds add up to "
                              f"{open_holds}")


def audit() -> list[Problem]:
    return [problem for registered in CHECKS for problem in registered()]

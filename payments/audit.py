"""The payments layer's audit checks: every captured payment did what it was for, every
refund moved the balance exactly when the gateway returned the money. Registered with
``billing.audit`` (see there) and run by ``manage.py billing_audit``."""

from __future__ import annotations

from collections.abc import Iterator

from billing.audit import Problem, check, rows
from payments.gateways import GATEWAYS
from payments.models import CAPTURED_STATUSES, OPEN_STATUSES

_CAPTURED = [str(status) for status in CAPTURED_STATUSES]
_OPEN = [str(status) for status in OPEN_STATUSES]


@check
def captured_payments_not_applied() -> Iterator[Problem]:
    """The money arrived, but nothing records what became of it."""
    for number, amount, currency, method, purpose, invoice, note in rows("""
        SELECT p.id, p.amount, p.currency, m.name, p.purpose, i.number,
               (SELECT e.note FROM payments_paymentevent e WHERE e.payment_id = p.id
                AND e.source = 'purpose' ORDER BY e.id DESC LIMIT 1)
        FROM payments_payment p JOIN payments_paymentmethod m ON m.id = p.method_id
        LEFT JOIN billing_invoice i ON i.id = p.invoice_id
        WHERE p.status = ANY(%s) AND p.outcome = ''
        ORDER BY 1 LIMIT 100""", [_CAPTURED]):
        yield Problem("payment-purpose", f"payment #{number} of {amount} {currency} by "
                                         f"{method} ({purpose}, invoice {invoice}) was captured "
                                         f"but not applied to its purpose"
                                         + (f": {note}" if note else ""))


@check
def applied_payments_with_unpaid_invoice() -> Iterator[Problem]:
    """A payment that says it did its job left its invoice paid."""
    for number, invoice, status in rows("""
        SELECT p.id, i.number, i.status FROM payments_payment p
        JOIN billing_invoice i ON i.id = p.invoice_id
        WHERE p.outcome = 'applied' AND i.status <> 'paid'
        ORDER BY 1 LIMIT 100"""):
        yield Problem("payment-purpose", f"payment #{number} says it was applied, but its "
                                         f"invoice {invoice} is {status}")


@check
def captured_payments_without_credit() -> Iterator[Problem]:
    """A captured payment credited the client's balance with its amount, once."""
    for number, amount, credited in rows("""
        SELECT p.id, p.amount, coalesce(c.credited, 0) FROM payments_payment p
        LEFT JOIN (SELECT e.transaction_id, sum(e.amount) AS credited FROM billing_entry e
                   JOIN billing_ledgeraccount a ON a.id = e.account_id AND a.kind = 'client'
                   GROUP BY e.transaction_id) c ON c.transaction_id = p.credit_transaction_id
        WHERE p.status = ANY(%s) AND coalesce(c.credited, 0) <> p.amount
        ORDER BY 1 LIMIT 100""", [_CAPTURED]):
        yield Problem("payment-credit", f"payment #{number} of {amount} was captured but "
                                        f"credited {credited} to the balance")


@check
def payments_without_one_purpose() -> Iterator[Problem]:
    """Every payment pays one invoice of its own kind: adding funds pays an
    advance-payment invoice, paying an order pays that order's invoice."""
    for number, purpose, kind in rows("""
        SELECT p.id, p.purpose, i.kind FROM payments_payment p
        LEFT JOIN billing_invoice i ON i.id = p.invoice_id
        WHERE i.id IS NULL OR (p.purpose = 'topup') <> (i.kind = 'advance')
        ORDER BY 1 LIMIT 100"""):
        yield Problem("payment-purpose", f"payment #{number} ({purpose}) is linked to "
                                         + ("no invoice" if kind is None
                                            else f"an invoice of the wrong kind ({kind})"))


@check
def balance_parts_held_while_open() -> Iterator[Problem]:
    """The balance's part of a combined payment is held exactly while the payment is
    open (then it is spent on the purpose, or freed)."""
    for number, status, held in rows("""
        SELECT p.id, p.status, h.id IS NOT NULL FROM payments_payment p
        LEFT JOIN billing_accounthold h
               ON h.key = 'payment:' || p.id || ':balance-part' AND h.released_at IS NULL
        WHERE p.from_balance > 0
          AND (p.status = ANY(%s)) <> (h.id IS NOT NULL)
        ORDER BY 1 LIMIT 100""", [_OPEN]):
        yield Problem("hold", f"payment #{number} is {status} and its balance part is "
                              + ("still held" if held else "not held"))


@check
def payments_unknown_for_a_day() -> Iterator[Problem]:
    """A payment whose outcome the gateway has not told for a day needs a person: it
    blocks its invoice (and its order) meanwhile."""
    for number, method, since in rows("""
        SELECT p.id, m.name, p.updated_at FROM payments_payment p
        JOIN payments_paymentmethod m ON m.id = p.method_id
        WHERE p.status = 'unknown' AND p.updated_at < now() - interval '1 day'
        ORDER BY 1 LIMIT 100"""):
        yield Problem("payment-unknown", f"payment #{number} by {method} has been unknown "
                                         f"since {since:%Y-%m-%d %H:%M}: ask the gateway")


@check
def refunds_out_of_step() -> Iterator[Problem]:
    """The balance is debited for a refund exactly when the gateway confirmed it, by its
    amount; until then the amount is held, and only then."""
    for number, status, debited, amount, hold_open in rows("""
        SELECT r.id, r.status, coalesce(-d.debited, 0), r.amount,
               EXISTS (SELECT 1 FROM billing_accounthold h WHERE h.key = 'refund:' || r.id
                       AND h.released_at IS NULL)
        FROM payments_refund r
        LEFT JOIN (SELECT e.transaction_id, sum(e.amount) AS debited FROM billing_entry e
                   JOIN billing_ledgeraccount a ON a.id = e.account_id AND a.kind = 'client'
                   GROUP BY e.transaction_id) d ON d.transaction_id = r.transaction_id
        WHERE (r.status = 'succeeded') <> (coalesce(-d.debited, 0) = r.amount)
           OR (r.status <> 'succeeded' AND r.transaction_id IS NOT NULL)
           OR (r.status = 'pending') <> EXISTS (
                SELECT 1 FROM billing_accounthold h WHERE h.key = 'refund:' || r.id
                AND h.released_at IS NULL)
        ORDER BY 1 LIMIT 100"""):
        yield Problem("refund", f"refund #{number} is {status} with {debited} of {amount} "
                                f"debited and {'an open' if hold_open else 'no'} hold")


@check
def refunds_pending_too_long() -> Iterator[Problem]:
    """No refund waits for its gateway longer than that gateway takes at most."""
    windows = [(code, gateway.refund_window.total_seconds())
               for code, gateway in GATEWAYS.items()]
    for number, gateway, created in rows("""
        SELECT r.id, m.gateway, r.created_at FROM payments_refund r
        JOIN payments_payment p ON p.id = r.payment_id
        JOIN payments_paymentmethod m ON m.id = p.method_id
        JOIN (SELECT * FROM unnest(%s::text[], %s::float8[])) w (gateway, seconds)
          ON w.gateway = m.gateway
        WHERE r.status = 'pending'
          AND r.created_at < now() - make_interval(secs => w.seconds)
        ORDER BY 1 LIMIT 100""", [[code for code, _ in windows],
                                  [seconds for _, seconds in windows]]):
        yield Problem("refund", f"refund #{number} has waited for {gateway} since "
                                f"{created:%Y-%m-%d %H:%M}, longer than that gateway takes")


@check
def refunded_amounts_differ() -> Iterator[Problem]:
    """A payment's refunded amount is the sum of its confirmed refunds."""
    for number, refunded, confirmed in rows("""
        SELECT p.id, p.refunded, coalesce(r.total, 0) FROM payments_payment p
        LEFT JOIN (SELECT payment_id, sum(amount) AS total FROM payments_refund
                   WHERE status = 'succeeded' GROUP BY payment_id) r ON r.payment_id = p.id
        WHERE p.refunded <> coalesce(r.total, 0)
        ORDER BY 1 LIMIT 100"""):
        yield Problem("refund", f"payment #{number} says {refunded} was refunded, its "
                                f"confirmed refunds add up to {confirmed}")

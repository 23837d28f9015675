"""The cart's audit checks: every order marked paid has its debit. Registered with
``billing.audit`` and run by ``manage.py billing_audit``."""

from __future__ import annotations

from collections.abc import Iterator

from billing.audit import Problem, check, rows


@check
def paid_orders_without_debit() -> Iterator[Problem]:
    """An order marked paid that charges anything was paid by a debit of the client's
    balance, and its invoice is paid by that same debit."""
    for number, reason in rows("""
        SELECT o.id,
               CASE WHEN o.transaction_id IS NULL THEN 'has no debit'
                    WHEN i.id IS NULL THEN 'has no invoice'
                    WHEN i.status <> 'paid' THEN 'has an invoice that is ' || i.status
                    ELSE 'has an invoice paid by another transaction' END
        FROM cart_order o LEFT JOIN billing_invoice i ON i.id = o.invoice_id
        WHERE o.status = 'paid'
          AND EXISTS (SELECT 1 FROM cart_orderitem it WHERE it.order_id = o.id AND it.net > 0)
          AND (o.transaction_id IS NULL OR i.id IS NULL OR i.status <> 'paid'
               OR i.payment_transaction_id IS DISTINCT FROM o.transaction_id)
        ORDER BY 1 LIMIT 100"""):
        yield Problem("order-debit", f"order #{number} is marked paid but {reason}")

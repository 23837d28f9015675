"""What a payment sets in motion: orders waiting for it, renewals waiting for money, and
daily services stopped for debt, in that order."""

from __future__ import annotations

import contextlib
from datetime import date

from accounts.models import Client
from billing import charging
from billing.ledger import InsufficientFunds
from cart.checkout import CheckoutError, order_pay_from_balance
from cart.models import Order, OrderStatus


def resume_after_payment(client: Client, as_of: date) -> list[int]:
    """Pay the client's renewals that waited for money (oldest first), then resume its
    daily services stopped for debt. Returns the services resumed or renewed."""
    done = []
    waiting = Order.objects.filter(client=client, status=OrderStatus.PENDING_PAYMENT,
                                   idempotency_key__startswith="autorenew:").order_by("pk")
    for order in waiting:
        # Short, or a card payment of it still under way: it waits for the next money.
        with contextlib.suppress(InsufficientFunds, CheckoutError):
            order_pay_from_balance(order=order, user=None)
            done.extend(order.items.values_list("service_id", flat=True))
    done.extend(charging.resume_paid(client, as_of))
    return done

"""Promised payments: temporary credit a client takes to keep its services running until a
payment arrives, credited now and taken back (reversed) on its due day by the clock.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from django.db import transaction
from django.dispatch import Signal
from djmoney.money import Money

from accounts.actionlog import log_action
from accounts.models import Client
from billing.corrections import transaction_reverse
from billing.ledger import account_credit, system_account
from billing.models import AccountKind, PromisedPayment, TransactionKind
from billing.selectors import promised_payment_offer
from core.days import start_of
from core.money import format_money, minor_unit_places, round_money

# Sent (after commit) when a client takes a promised payment: the clock's layer listens
# and resumes what the new balance pays for, as after a payment.
promised_payment_taken = Signal()


class PromiseRefused(Exception):
    """The promised payment cannot be given; the message says why."""


@transaction.atomic
def promised_payment_take(*, client: Client, amount: Money, as_of: date, user=None,
                          request=None) -> PromisedPayment:
    """Credit the client now; take it back on the due day (``collect_promised``)."""
    # One at a time per client: a double click waits here, then finds the first running.
    Client.objects.select_for_update().filter(pk=client.pk).first()
    offer = promised_payment_offer(client, as_of)
    if offer.refusal:
        raise PromiseRefused(offer.refusal)
    if str(amount.currency) != str(offer.maximum.currency):
        raise PromiseRefused(f"A promised payment is in {offer.maximum.currency}.")
    if amount.amount <= 0 or amount > offer.maximum:
        raise PromiseRefused(f"A promised payment is at most {format_money(offer.maximum)}.")
    if amount.amount != round_money(amount).amount:
        raise PromiseRefused(f"{amount.currency} amounts have at most "
                             f"{minor_unit_places(str(amount.currency))} decimal places.")
    key = f"promised:{client.pk}:{uuid.uuid4().hex}"
    due_on = as_of + timedelta(days=offer.days)
    record, _ = account_credit(
        client=client, amount=amount, kind=TransactionKind.PROMISED, idempotency_key=key,
        counter=system_account(AccountKind.PROMISED, str(amount.currency)),
        description=f"Promised payment until {due_on}", actor=user)
    promise = PromisedPayment.objects.create(
        client=client, amount=amount.amount, currency=str(amount.currency), created_by=user,
        due_on=due_on, credit_transaction=record)
    log_action(actor=user, action="promised_payment.taken", obj=promise, client=client,
               request=request, details={"amount": str(amount.amount)})
    transaction.on_commit(lambda: promised_payment_taken.send(sender=PromisedPayment,
                                                              promise=promise))
    return promise


# How many promised payments each client has due by %(day)s (the clock's chunks).
DUE_PER_CLIENT = """
    SELECT client_id, count(*) AS n FROM billing_promisedpayment
    WHERE due_on <= %(day)s AND repaid_transaction_id IS NULL
    GROUP BY client_id"""


def collect_promised(as_of: date, *, clients: tuple[int, int] | None = None) -> int:
    """Take back the promised payments that are due (of the clients with ids in
    ``clients``, when given). Each is taken back once: the reversal is keyed by it."""
    count = 0
    due = PromisedPayment.objects.filter(due_on__lte=as_of, repaid_transaction__isnull=True)
    if clients is not None:
        due = due.filter(client__pk__range=clients)
    for promise in due.order_by("pk"):
        with transaction.atomic():
            record, _ = transaction_reverse(original=promise.credit_transaction,
                                            reason="The promised payment is due",
                                            at=start_of(as_of))
            PromisedPayment.objects.filter(pk=promise.pk).update(repaid_transaction=record)
        count += 1
    return count

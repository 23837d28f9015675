"""Corrections: reversing a transaction, and staff crediting or debiting a balance by hand.
Both are new transactions; nothing already posted is ever changed."""

from __future__ import annotations

from django.db import transaction
from djmoney.money import Money

from accounts.actionlog import log_action
from accounts.models import Client, User
from billing.charges import ChargeSpec, charges_post
from billing.ledger import (
    LedgerError,
    Leg,
    account_credit,
    ledger_post,
    lock_accounts,
    personal_account,
    system_account,
)
from billing.models import AccountKind, ChargeKind, Transaction, TransactionKind
from core.money import money_sum


@transaction.atomic
def transaction_reverse(*, original: Transaction, reason: str, actor: User | None = None,
                        at=None) -> tuple[Transaction, bool]:
    """Post the mirror image of a transaction; a transaction is reversed at most once.
    If the reversal takes money from a personal account, it is an expense too."""
    entries = list(original.entries.select_related("account"))
    key = f"reversal:{original.pk}"
    client_legs = [e for e in entries if e.account.kind == AccountKind.CLIENT and e.amount > 0]
    if client_legs and original.client is not None:
        taken = money_sum((e.money for e in client_legs), client_legs[0].currency)
        return charges_post(
            client=original.client, kind=TransactionKind.REVERSAL, idempotency_key=key,
            description=f"Reversal of #{original.pk}: {reason}", actor=actor,
            allow_overdraft=True, reverses=original, at=at,
            charges=[ChargeSpec(ChargeKind.REVERSAL, f"Reversal: {original.description}",
                                taken, idempotency_key=key, derivation={"reverses": original.pk,
                                                                        "reason": reason})],
            counter=[Leg(e.account, -e.money) for e in entries if e not in client_legs])
    lock_accounts(*(entry.account for entry in entries))
    return ledger_post(
        kind=TransactionKind.REVERSAL, description=f"Reversal of #{original.pk}: {reason}",
        idempotency_key=key, client=original.client, actor=actor, reverses=original,
        details={"reason": reason}, at=at,
        legs=[Leg(entry.account, -entry.money) for entry in entries])


@transaction.atomic
def balance_adjust(*, client: Client, amount: Money, reason: str, actor: User,
                   idempotency_key: str, request=None) -> Transaction:
    """Staff credit (positive amount) or debit (negative) a personal account by hand,
    with a reason; in the action log too."""
    reason = reason.strip()
    if not reason:
        raise LedgerError("A manual credit or debit needs a reason.")
    if amount.amount == 0:
        raise LedgerError("The amount cannot be zero.")
    account = personal_account(client)
    counter = system_account(AccountKind.ADJUSTMENTS, account.currency)
    if amount.amount > 0:
        record, created = account_credit(
            client=client, amount=amount, counter=counter, kind=TransactionKind.ADJUSTMENT,
            description=f"Credit by staff: {reason}", idempotency_key=idempotency_key,
            actor=actor, details={"reason": reason})
    else:
        record, created = charges_post(
            client=client, kind=TransactionKind.ADJUSTMENT, idempotency_key=idempotency_key,
            description=f"Debit by staff: {reason}", actor=actor, allow_overdraft=True,
            charges=[ChargeSpec(ChargeKind.MANUAL, f"Debit by staff: {reason}", -amount,
                                idempotency_key=idempotency_key, derivation={"reason": reason})],
            counter=[Leg(counter, -amount)])
    if created:
        log_action(actor=actor, action="balance.adjusted", obj=client, client=client,
                   request=request, details={"amount": str(amount.amount),
                                             "currency": str(amount.currency),
                                             "reason": reason, "transaction": record.pk})
    return record

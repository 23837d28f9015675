"""Writes that move money. Every movement is one balanced transaction with an
idempotency key: posting the same key again returns the first transaction and moves
nothing.

Locking: a personal account is locked (``SELECT ... FOR UPDATE``) before its balance is
read for a decision and until the entries are in; several accounts are locked in id
order. The provider's own accounts are never locked: nothing reads their balance to
decide anything, so charges never queue behind each other on a revenue account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from djmoney.money import Money

from accounts.models import Client, Company, User
from billing.models import AccountHold, AccountKind, Entry, LedgerAccount, Transaction
from core.money import format_money, minor_unit_places, round_money


class LedgerError(Exception):
    """A posting that the ledger refuses; nothing was written."""


class InsufficientFunds(LedgerError):
    def __init__(self, account: LedgerAccount, amount: Money):
        self.account, self.amount = account, amount
        super().__init__(f"Not enough funds: {format_money(amount)} needed, "
                         f"{format_money(account.available)} available.")


@dataclass(frozen=True)
class Leg:
    account: LedgerAccount
    amount: Money


# Accounts ----------------------------------------------------------------------------------
def personal_account(client: Client) -> LedgerAccount:
    """The client's personal account, created on first use."""
    account = LedgerAccount.objects.filter(client=client).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return LedgerAccount.objects.create(
                code=f"client:{client.pk}", kind=AccountKind.CLIENT, client=client,
                currency=client.provider.currency, name=f"Personal account of {client}")
    except IntegrityError:
        return LedgerAccount.objects.get(client=client)


def system_account(kind: str, currency: str, *, company: Company | None = None,
                   key: str = "", name: str = "") -> LedgerAccount:
    """One of the provider's own accounts (revenue per company, clearing per payment
    method, ...), created on first use."""
    scope = f"company:{company.pk}" if company is not None else "all"
    code = ":".join(part for part in (kind, scope, key, currency) if part)
    account = LedgerAccount.objects.filter(code=code).first()
    if account is not None:
        return account
    label = name or AccountKind(kind).label
    if company is not None:
        label = f"{label} · {company.name}"
    try:
        with transaction.atomic():
            return LedgerAccount.objects.create(code=code, kind=kind, currency=currency,
                                                company=company, name=f"{label} ({currency})")
    except IntegrityError:
        return LedgerAccount.objects.get(code=code)


def lock_accounts(*accounts: LedgerAccount) -> dict[int, LedgerAccount]:
    """Lock personal accounts in id order (no deadlocks) and return them fresh."""
    ids = sorted({a.pk for a in accounts if a.kind == AccountKind.CLIENT})
    return {a.pk: a for a in LedgerAccount.objects.select_for_update().filter(pk__in=ids)
            .order_by("pk")}


# Posting -----------------------------------------------------------------------------------
def _check_amount(amount: Money) -> None:
    if amount.amount != round_money(amount).amount:
        raise LedgerError(f"{amount.amount} {amount.currency} has more decimal places than "
                          f"the currency's {minor_unit_places(str(amount.currency))}.")


@transaction.atomic
def ledger_post(
    *,
    kind: str,
    description: str,
    legs: list[Leg],
    idempotency_key: str,
    client: Client | None = None,
    actor: User | None = None,
    details: dict | None = None,
    reverses: Transaction | None = None,
    at: datetime | None = None,
) -> tuple[Transaction, bool]:
    """Post one balanced transaction; returns it and whether it is new. ``at`` is its
    moment when the caller has one (the billing clock's day); else it is now.

    A second call with the same ``idempotency_key`` returns the first transaction and
    posts nothing (also when the two calls race: the unique key decides).
    """
    existing = Transaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    legs = [leg for leg in legs if leg.amount.amount != 0]
    if len(legs) < 2:
        raise LedgerError("A transaction needs two or more non-zero entries.")
    totals: dict[str, Decimal] = {}
    for leg in legs:
        _check_amount(leg.amount)
        if str(leg.amount.currency) != leg.account.currency:
            raise LedgerError(f"{leg.account} is in {leg.account.currency}, "
                              f"not {leg.amount.currency}.")
        totals[str(leg.amount.currency)] = totals.get(str(leg.amount.currency), 0) \
            + leg.amount.amount
    if any(total != 0 for total in totals.values()):
        raise LedgerError(f"The entries do not balance: {totals}.")
    try:
        with transaction.atomic():
            record = Transaction.objects.create(
                kind=kind, description=description[:255], idempotency_key=idempotency_key,
                client=client, actor=actor, actor_label=actor.email if actor else "system",
                details=details or {}, reverses=reverses,
                **({"created_at": at} if at is not None else {}))
            Entry.objects.bulk_create([
                Entry(transaction=record, account=leg.account, amount=leg.amount.amount,
                      currency=str(leg.amount.currency)) for leg in legs])
    except IntegrityError:
        existing = Transaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing, False
    return record, True


@transaction.atomic
def account_credit(*, client: Client, amount: Money, counter: LedgerAccount, kind: str,
                   description: str, idempotency_key: str, actor: User | None = None,
                   details: dict | None = None, at: datetime | None = None
                   ) -> tuple[Transaction, bool]:
    """Put money on the client's personal account, taken from ``counter``."""
    if amount.amount <= 0:
        raise LedgerError("A credit is a positive amount.")
    account = personal_account(client)
    lock_accounts(account)
    return ledger_post(kind=kind, description=description, idempotency_key=idempotency_key,
                       client=client, actor=actor, details=details, at=at,
                       legs=[Leg(account, amount), Leg(counter, -amount)])


@transaction.atomic
def account_debit(*, client: Client, amount: Money, counter: LedgerAccount | list[Leg],
                  kind: str, description: str, idempotency_key: str,
                  actor: User | None = None, details: dict | None = None,
                  allow_overdraft: bool = False, reverses: Transaction | None = None,
                  at: datetime | None = None) -> tuple[Transaction, bool]:
    """Take money from the client's personal account into ``counter`` (an account, or
    legs that sum to the amount, e.g. revenue and tax). Refuses, moving nothing, when
    the balance plus the credit limit does not cover it."""
    if amount.amount <= 0:
        raise LedgerError("A debit is a positive amount.")
    account = personal_account(client)
    existing = Transaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    locked = lock_accounts(account)[account.pk]
    if not allow_overdraft and locked.available.amount < amount.amount:
        raise InsufficientFunds(locked, amount)
    legs = counter if isinstance(counter, list) else [Leg(counter, amount)]
    return ledger_post(kind=kind, description=description, idempotency_key=idempotency_key,
                       client=client, actor=actor, details=details, reverses=reverses,
                       at=at, legs=[Leg(locked, -amount), *legs])


# Holds ---------------------------------------------------------------------------------------
class HoldRefused(LedgerError):
    """The balance does not have the money to set aside."""


@transaction.atomic
def hold_place(*, client: Client, amount: Money, key: str, reason: str,
               within_credit_limit: bool = False) -> AccountHold:
    """Set ``amount`` of the client's balance aside under ``key`` (the same key again
    returns the first hold). What the balance itself has must cover it (money on its way
    back to a card), or, ``within_credit_limit``, what may be spent (the part of a
    purchase the balance pays while a card pays the rest)."""
    account = personal_account(client)
    account = lock_accounts(account)[account.pk]
    existing = AccountHold.objects.filter(key=key).first()
    if existing is not None:
        return existing
    free = account.available if within_credit_limit else Money(account.balance - account.held,
                                                               account.currency)
    if free.amount < amount.amount:
        raise HoldRefused(_("The balance does not cover %(amount)s: %(free)s is free.") % {
            "amount": format_money(amount), "free": format_money(free)})
    hold = AccountHold.objects.create(account=account, amount=amount.amount,
                                      currency=account.currency, key=key, reason=reason[:255])
    LedgerAccount.objects.filter(pk=account.pk).update(held=F("held") + amount.amount)
    return hold


@transaction.atomic
def hold_release(*, key: str) -> AccountHold | None:
    """Give the held money back to the balance's spendable part (before the debit it was
    held for, or when that debit will not happen). Releasing twice changes nothing."""
    hold = AccountHold.objects.filter(key=key).select_related("account").first()
    if hold is None:
        return None
    lock_accounts(hold.account)
    hold = AccountHold.objects.select_for_update().get(pk=hold.pk)
    if hold.released_at is None:
        hold.released_at = timezone.now()
        hold.save(update_fields=["released_at"])
        LedgerAccount.objects.filter(pk=hold.account_id).update(held=F("held") - hold.amount)
    return hold

"""Debits of a personal account, each recorded as the client's expenses (Charges).

The rule the audit checks: every transaction that takes money from a personal account
has Charge rows that add up to what it took, so the Expenses list shows every debit
with its service, period and amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import connection, transaction
from djmoney.money import Money

from accounts.models import Client, User
from billing.ledger import LedgerError, Leg, account_debit
from billing.models import Charge, Invoice, LedgerAccount, Transaction, TransactionKind
from core.bulk import copy_rows
from core.money import money_sum
from services.models import Service


@dataclass(frozen=True)
class ChargeSpec:
    kind: str
    description: str
    amount: Money
    idempotency_key: str
    service: Service | None = None
    period_start: date | None = None
    period_end: date | None = None
    derivation: dict = field(default_factory=dict)
    tax: Money | None = None  # the part of ``amount`` that is tax, at ``tax_rate``
    tax_rate: Decimal = Decimal(0)


@transaction.atomic
def charges_post(*, client: Client, charges: list[ChargeSpec], counter: list[Leg],
                 idempotency_key: str, description: str, actor: User | None = None,
                 invoice: Invoice | None = None, allow_overdraft: bool = False,
                 kind: str = TransactionKind.CHARGE, reverses: Transaction | None = None,
                 at: datetime | None = None) -> tuple[Transaction, bool]:
    """Debit the client for ``charges`` in one transaction; ``counter`` says where the
    money goes (revenue, tax payable, ...) and must add up to the same total."""
    currency = client.provider.currency
    total = money_sum((charge.amount for charge in charges), currency)
    if money_sum((leg.amount for leg in counter), currency) != total:
        raise ValueError("The counter legs do not add up to the charges.")
    record, created = account_debit(
        client=client, amount=total, counter=counter, kind=kind, description=description,
        idempotency_key=idempotency_key, actor=actor, allow_overdraft=allow_overdraft,
        reverses=reverses, at=at)
    if created:
        Charge.objects.bulk_create([
            Charge(client=client, service=spec.service, kind=spec.kind,
                   description=spec.description, period_start=spec.period_start,
                   period_end=spec.period_end, amount=spec.amount.amount, currency=currency,
                   tax=spec.tax.amount if spec.tax is not None else 0, tax_rate=spec.tax_rate,
                   transaction=record, invoice=invoice, derivation=spec.derivation,
                   idempotency_key=spec.idempotency_key, created_at=record.created_at)
            for spec in charges])
    return record, created


def charge_post(*, client: Client, spec: ChargeSpec, counter: LedgerAccount,
                actor: User | None = None, allow_overdraft: bool = False,
                kind: str = TransactionKind.CHARGE) -> tuple[Transaction, bool]:
    """One charge against one counter account."""
    return charges_post(client=client, charges=[spec], counter=[Leg(counter, spec.amount)],
                        idempotency_key=spec.idempotency_key, description=spec.description,
                        actor=actor, allow_overdraft=allow_overdraft, kind=kind)


@dataclass(frozen=True)
class ClientCharge:
    """A charge of one client of a batch, from that client's personal account."""

    client_id: int
    account_id: int
    spec: ChargeSpec


@transaction.atomic
def charges_post_batch(*, charges: list[ClientCharge], counter: list[Leg], currency: str,
                       idempotency_key: str, description: str, at: datetime,
                       details: dict | None = None) -> Transaction:
    """Debit many clients for their charges in one transaction: one debit entry per
    personal account, the ``counter`` legs (revenue, discounts, tax per company), a Charge
    row per charge. The caller holds the personal accounts locked and has decided that
    each can pay: this posts what it is given. The entries go in as one statement, so the
    ledger's trigger checks the whole transaction balances and moves every balance once;
    the charges are streamed in (COPY)."""
    if not charges:
        raise LedgerError("A batch needs charges.")
    debits: dict[int, Decimal] = {}
    for charge in charges:
        if str(charge.spec.amount.currency) != currency:
            raise LedgerError(f"A charge in {charge.spec.amount.currency} in a {currency} "
                              "batch.")
        debits[charge.account_id] = debits.get(charge.account_id, Decimal(0)) \
            + charge.spec.amount.amount
    legs = [leg for leg in counter if leg.amount.amount]
    if money_sum((leg.amount for leg in legs), currency).amount != sum(debits.values()):
        raise LedgerError("The counter legs do not add up to the charges.")
    record = Transaction.objects.create(
        kind=TransactionKind.CHARGE, description=description[:255],
        idempotency_key=idempotency_key, actor_label="billing clock", details=details or {},
        created_at=at)
    accounts = [*debits, *(leg.account.pk for leg in legs)]
    amounts = [-amount for amount in debits.values()] + [leg.amount.amount for leg in legs]
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO billing_entry (transaction_id, account_id, amount, currency)
            SELECT %s, e.account_id, e.amount, %s
            FROM unnest(%s::bigint[], %s::numeric[]) AS e (account_id, amount)""",
                       [record.pk, currency, accounts, amounts])
    copy_rows("billing_charge", (
        "client_id", "service_id", "kind", "description", "period_start", "period_end",
        "amount", "tax", "tax_rate", "currency", "transaction_id", "derivation",
        "idempotency_key", "created_at"), (
        (charge.client_id, spec.service.pk if spec.service is not None else None, spec.kind,
         spec.description[:255], spec.period_start, spec.period_end, spec.amount.amount,
         spec.tax.amount if spec.tax is not None else Decimal(0), spec.tax_rate, currency,
         record.pk, spec.derivation, spec.idempotency_key, at)
        for charge in charges for spec in [charge.spec]))
    return record

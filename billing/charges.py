"""Debits of a personal account, each recorded as the client's expenses (Charges).

The rule the audit checks: every transaction that takes money from a personal account
has Charge rows that add up to what it took, so the Expenses list shows every debit
with its service, period and amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from djmoney.money import Money

from accounts.models import Client, User
from billing.ledger import Leg, account_debit
from billing.models import Charge, Invoice, LedgerAccount, Transaction, TransactionKind
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

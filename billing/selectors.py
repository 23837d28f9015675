"""Reads of the money core. Everything a client sees is scoped to its client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from djmoney.money import Money

from accounts.models import Client
from billing.ledger import personal_account
from billing.models import (
    Charge,
    ClosingDocument,
    CreditNote,
    Entry,
    GroupDiscount,
    Invoice,
    InvoiceStatus,
    LedgerAccount,
    PromisedPayment,
)
from services.models import Service


def account_get(client: Client) -> LedgerAccount:
    """The client's personal account (balance, credit limit), fresh from the database."""
    return personal_account(client)


def movements(*, client: Client, limit: int = 10) -> QuerySet[Entry]:
    """The latest credits and debits of the client's personal account."""
    return (Entry.objects.filter(account__client=client, account__kind="client")
            .select_related("transaction").order_by("-transaction__created_at", "-id")[:limit])


def credit_list(*, client: Client) -> QuerySet[Entry]:
    """Every credit of the personal account (Credits/Payments)."""
    return (Entry.objects.filter(account__client=client, account__kind="client", amount__gt=0)
            .select_related("transaction").order_by("-transaction__created_at", "-id"))


def expense_list(*, client: Client, service: Service | None = None) -> QuerySet[Charge]:
    """Every debit of the personal account, with its service and period (Expenses); of one
    of the client's services when given."""
    charges = Charge.objects.filter(client=client)
    if service is not None:
        charges = charges.filter(service=service)
    return (charges.select_related("service__plan", "transaction__reversed_by", "invoice")
            .order_by("-created_at", "-id"))


def expense_get(*, client: Client, pk: int) -> Charge:
    return get_object_or_404(expense_list(client=client), pk=pk)


def invoice_list(*, client: Client) -> QuerySet[Invoice]:
    return (Invoice.objects.filter(client=client).exclude(status=InvoiceStatus.DRAFT)
            .select_related("company").order_by("-issued_at", "-id"))


def invoice_get(*, client: Client, pk: int) -> Invoice:
    """The client's issued invoice, or 404: another client's invoice does not exist here."""
    return get_object_or_404(invoice_list(client=client).prefetch_related("lines",
                                                                          "credit_notes"), pk=pk)


def closing_list(*, client: Client) -> QuerySet[ClosingDocument]:
    return (ClosingDocument.objects.filter(client=client).select_related("company")
            .order_by("-period_start", "-id"))


def closing_get(*, client: Client, pk: int) -> ClosingDocument:
    return get_object_or_404(closing_list(client=client).prefetch_related("lines"), pk=pk)


def credit_note_get(*, client: Client, pk: int) -> CreditNote:
    return get_object_or_404(CreditNote.objects.filter(client=client).select_related(
        "invoice", "company").prefetch_related("lines"), pk=pk)


def credit_source(service: Service) -> Invoice | None:
    """The invoice a credit for the service (a downgrade) is noted against: the latest one
    that charged it and stands. Its tax rate is the credit's."""
    charge = (service.charges.filter(invoice__isnull=False)
              .exclude(invoice__status=InvoiceStatus.CANCELLED).select_related("invoice")
              .order_by("-pk").first())
    return charge.invoice if charge is not None else None


def _running(when) -> Q:
    """A discount runs at an instant when it has begun and not ended."""
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=when)) & (
        Q(valid_until__isnull=True) | Q(valid_until__gte=when))


def group_discounts(client: Client | int, when) -> list[GroupDiscount]:
    """The discounts of the client's (or client id's) groups that run at ``when``, their
    plans prefetched."""
    return list(GroupDiscount.objects.filter(group__clients=client).filter(_running(when))
                .prefetch_related("plans"))


def group_discounts_by_client(client_ids: list[int], when) -> dict[int, list[GroupDiscount]]:
    """``group_discounts`` of many clients in three queries (the clock's batches)."""
    memberships = Client.groups.through.objects.filter(client_id__in=client_ids)
    groups_of: dict[int, set[int]] = {}
    for client_id, group_id in memberships.values_list("client_id", "clientgroup_id"):
        groups_of.setdefault(client_id, set()).add(group_id)
    running = list(GroupDiscount.objects.filter(
        group_id__in={g for groups in groups_of.values() for g in groups}).filter(
        _running(when)).prefetch_related("plans"))
    return {client_id: [d for d in running if d.group_id in groups_of.get(client_id, ())]
            for client_id in client_ids}


def best_discount_percent(discounts: list[GroupDiscount], plan) -> Decimal:
    """The best of the discounts that apply to the plan (by plan, or by product type)."""
    percents = [d.percent for d in discounts
                if (not d.plans.all() or plan in d.plans.all())
                and (not d.product_types or plan.product_type in d.product_types)]
    return max(percents, default=Decimal(0))


def group_discount_percent(client: Client, plan, when) -> Decimal:
    """The best discount of the client's groups that applies to the plan at ``when``."""
    return best_discount_percent(group_discounts(client, when), plan)


@dataclass(frozen=True)
class PromiseOffer:
    """What the provider lets the client take as a promised payment, and what it took."""

    maximum: Money
    days: int
    per_month: int
    used_this_month: int
    running: PromisedPayment | None
    history: list[PromisedPayment]

    @property
    def offered(self) -> bool:
        return self.maximum.amount > 0 and self.per_month > 0

    @property
    def refusal(self) -> str:
        """Why a promised payment cannot be taken now; empty when it can."""
        if not self.offered:
            return "Your provider does not give promised payments."
        if self.running is not None:
            return "You already have a promised payment running."
        if self.used_this_month >= self.per_month:
            return "You have taken all the promised payments of this month."
        return ""


def promised_payment_offer(client: Client, as_of: date) -> PromiseOffer:
    provider = client.provider
    promises = client.promised_payments.order_by("-created_at")
    return PromiseOffer(
        maximum=Money(provider.promised_payment_max, provider.currency),
        days=provider.promised_payment_days, per_month=provider.promised_payments_per_month,
        used_this_month=promises.filter(created_at__year=as_of.year,
                                        created_at__month=as_of.month).count(),
        running=promises.filter(repaid_transaction__isnull=True).first(),
        history=list(promises[:12]))

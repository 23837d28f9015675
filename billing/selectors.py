"""Reads of the money core. Everything a client sees is scoped to its client."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Client
from billing.ledger import personal_account
from billing.models import Charge, Entry, GroupDiscount, Invoice, InvoiceStatus, LedgerAccount


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


def expense_list(*, client: Client) -> QuerySet[Charge]:
    """Every debit of the personal account, with its service and period (Expenses)."""
    return (Charge.objects.filter(client=client)
            .select_related("service__plan", "transaction__reversed_by", "invoice")
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


def group_discount_percent(client: Client, plan, when) -> Decimal:
    """The best discount of the client's groups that applies to the plan at ``when``."""
    discounts = GroupDiscount.objects.filter(group__clients=client).filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=when),
        Q(valid_until__isnull=True) | Q(valid_until__gte=when)).prefetch_related("plans")
    percents = [d.percent for d in discounts
                if (not d.plans.all() or plan in d.plans.all())
                and (not d.product_types or plan.product_type in d.product_types)]
    return max(percents, default=Decimal(0))

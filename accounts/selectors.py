"""Reads of the accounts layer. Everything a client sees is scoped to its client."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import ActionLog, Client, ClientUser, Company, Payer


def payer_list(*, client: Client) -> QuerySet[Payer]:
    return Payer.objects.filter(client=client)


def payer_get(*, client: Client, pk: int) -> Payer:
    """The client's payer, or 404: another client's payer does not exist for this one."""
    return get_object_or_404(payer_list(client=client), pk=pk)


def client_user_list(*, client: Client) -> QuerySet[ClientUser]:
    return ClientUser.objects.filter(client=client).select_related("user", "invited_by")


def client_user_get(*, client: Client, pk: int) -> ClientUser:
    return get_object_or_404(client_user_list(client=client), pk=pk)


def client_activity(*, client: Client, limit: int = 10) -> QuerySet[ActionLog]:
    return ActionLog.objects.filter(client=client).select_related("actor")[:limit]


def company_for_provider(provider) -> Company | None:
    """The company that issues a provider's documents (the first one linked to it)."""
    return Company.objects.filter(providers=provider).order_by("pk").first()

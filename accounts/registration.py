"""Sign-up in the client area: a client and its owner user, created together."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from accounts.actionlog import log_action
from accounts.models import Client, ClientUser, Provider, User


def provider_for_host(host: str) -> Provider | None:
    """The provider whose client area is served on ``host``, else the default provider."""
    domain = host.split(":")[0].lower()
    return (
        Provider.objects.filter(Q(domain=domain) | Q(is_default=True))
        .order_by("is_default")  # a provider that claims the host wins over the default
        .first()
    )


@transaction.atomic
def client_register(
    *, user: User, name: str, kind: str, provider: Provider, phone: str = "", request=None
) -> Client:
    """Create the client of a newly signed-up user; the user becomes its owner.

    As the seeds say, registering creates the client and a user with the same name.
    """
    client = Client.objects.create(
        provider=provider, kind=kind, name=name, email=user.email, phone=phone
    )
    ClientUser.objects.create(client=client, user=user, is_owner=True)
    log_action(actor=user, action="client.registered", obj=client, request=request,
               details={"provider": provider.name})
    return client

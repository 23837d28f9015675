"""A client's payers: create, change, delete, choose the default."""

from __future__ import annotations

from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from accounts.actionlog import log_action
from accounts.models import Client, Payer, User

PAYER_FIELDS = ("kind", "name", "country", "address", "tax_id", "vat_id", "email")


@transaction.atomic
def payer_create(*, client: Client, actor: User, data: dict, request=None) -> Payer:
    """Create a payer; the client's first payer becomes its default."""
    payer = Payer(client=client, **{f: data[f] for f in PAYER_FIELDS if f in data})
    payer.full_clean()
    # Lock the client so that two first payers created at once cannot both be default.
    Client.objects.select_for_update().filter(pk=client.pk).first()
    payer.is_default = not client.payers.exists()
    payer.save()
    log_action(actor=actor, action="payer.created", obj=payer, request=request)
    return payer


@transaction.atomic
def payer_update(*, payer: Payer, actor: User, data: dict, request=None) -> Payer:
    before = {f: str(getattr(payer, f)) for f in PAYER_FIELDS}
    for field in PAYER_FIELDS:
        if field in data:
            setattr(payer, field, data[field])
    payer.full_clean()
    payer.save()
    after = {f: str(getattr(payer, f)) for f in PAYER_FIELDS}
    changed = {f: [before[f], after[f]] for f in PAYER_FIELDS if before[f] != after[f]}
    log_action(actor=actor, action="payer.changed", obj=payer, request=request,
               details={"changed": changed})
    return payer


@transaction.atomic
def payer_set_default(*, payer: Payer, actor: User, request=None) -> Payer:
    Client.objects.select_for_update().filter(pk=payer.client_id).first()
    Payer.objects.filter(client_id=payer.client_id, is_default=True).exclude(pk=payer.pk).update(
        is_default=False
    )
    payer.is_default = True
    payer.save(update_fields=["is_default", "updated_at"])
    log_action(actor=actor, action="payer.made_default", obj=payer, request=request)
    return payer


class PayerInUse(Exception):
    """A payer named on issued documents stays: the documents keep pointing at it."""


@transaction.atomic
def payer_delete(*, payer: Payer, actor: User, request=None) -> None:
    """Delete a payer; if it was the default, the oldest remaining payer takes its place."""
    Client.objects.select_for_update().filter(pk=payer.client_id).first()
    log_action(actor=actor, action="payer.deleted", obj=payer, request=request,
               details={"name": payer.name})
    was_default = payer.is_default
    client_id = payer.client_id
    try:
        payer.delete()
    except ProtectedError as error:  # the log row above goes with the rollback
        raise PayerInUse(_("“%(name)s” is named on invoices or other documents and cannot "
                           "be deleted; change the default payer instead.")
                         % {"name": payer.name}) from error
    if was_default:
        successor = Payer.objects.filter(client_id=client_id).order_by("created_at").first()
        if successor is not None:
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])

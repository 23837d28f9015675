"""The users of a client account: invite, change rights, remove."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.actionlog import log_action
from accounts.emails import send_invitation
from accounts.models import Access, Client, ClientUser, User, normalize_email
from accounts.rights import Area


def _rights_fields(rights: dict[Area, str]) -> dict[str, str]:
    return {f"{area.value}_access": Access(rights.get(area, Access.NONE)) for area in Area}


@transaction.atomic
def client_user_invite(
    *, client: Client, invited_by: User, email: str, name: str, rights: dict[Area, str],
    request=None,
) -> ClientUser:
    """Create a user for the client with the given rights and e-mail them an invitation.

    The new user has no password until they follow the link in the invitation.
    """
    email = normalize_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "A user with this e-mail address already exists."})
    user = User.objects.create_user(email=email, password=None, name=name)
    membership = ClientUser.objects.create(
        client=client, user=user, invited_by=invited_by, **_rights_fields(rights)
    )
    log_action(actor=invited_by, action="client_user.invited", obj=membership, client=client,
               request=request, details={"rights": membership_rights(membership)})
    transaction.on_commit(lambda: send_invitation(user_id=user.pk, request=request))
    return membership


@transaction.atomic
def client_user_update_rights(
    *, membership: ClientUser, actor: User, rights: dict[Area, str], request=None
) -> ClientUser:
    membership = ClientUser.objects.select_for_update().get(pk=membership.pk)
    if membership.is_owner:
        raise PermissionDenied("The owner of the account always has every right.")
    if membership.user_id == actor.pk:
        raise PermissionDenied("You cannot change your own rights.")
    before = membership_rights(membership)
    for field, value in _rights_fields(rights).items():
        setattr(membership, field, value)
    membership.save()
    log_action(actor=actor, action="client_user.rights_changed", obj=membership,
               client=membership.client, request=request,
               details={"before": before, "after": membership_rights(membership)})
    return membership


@transaction.atomic
def client_user_remove(*, membership: ClientUser, actor: User, request=None) -> None:
    """Remove a user from the client: the user can no longer sign in."""
    if membership.is_owner:
        raise PermissionDenied("The owner of the account cannot be removed.")
    if membership.user_id == actor.pk:
        raise PermissionDenied("You cannot remove yourself.")
    log_action(actor=actor, action="client_user.removed", obj=membership.user,
               client=membership.client, request=request,
               details={"email": membership.user.email})
    membership.user.delete()


def membership_rights(membership: ClientUser) -> dict[str, str]:
    return {area.value: getattr(membership, f"{area.value}_access") for area in Area}

"""Staff resetting a user's second factor (a lost phone, a lost key)."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.actionlog import log_action
from accounts.emails import send_security_notice
from accounts.models import ClientUser, User

RESET_PERMISSION = "accounts.reset_second_factor"


def can_reset_second_factor(*, actor: User, user: User) -> bool:
    """A client user's factor: staff with the named right. A staff member's factor opens
    the staff panel, so only an administrator resets it."""
    if not actor.is_active or not actor.is_staff:
        return False
    if user.is_staff or user.is_superuser:
        return actor.is_superuser
    return actor.has_perm(RESET_PERMISSION)


@transaction.atomic
def second_factor_reset(*, user: User, actor: User, reason: str, request=None) -> list[str]:
    """Remove every authenticator of ``user`` (TOTP, keys, recovery codes); the user
    signs in with the password alone and enrols again where a factor is required.
    Returns the types removed."""
    if not can_reset_second_factor(actor=actor, user=user):
        raise PermissionDenied
    authenticators = Authenticator.objects.select_for_update().filter(user=user)
    types = sorted({a.type for a in authenticators})
    authenticators.delete()
    membership = ClientUser.objects.select_related("client").filter(user=user).first()
    log_action(actor=actor, action="mfa.reset_by_staff", obj=user,
               client=membership.client if membership is not None else None,
               request=request, details={"types": types, "reason": reason})
    transaction.on_commit(lambda: send_security_notice(
        template="accounts/email/second_factor_reset", user=user, context={"reason": reason}))
    return types

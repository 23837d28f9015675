"""Signing staff in for tests as allauth records it, without going through its forms.

allauth keeps each authentication of the session in ``account_authentication_methods``
(with the user's id beside it) and counts a re-authentication as recent when its ``at``
is within ``ACCOUNT_REAUTHENTICATION_TIMEOUT`` seconds.
"""

from __future__ import annotations

import time

METHODS_KEY = "account_authentication_methods"
USER_KEY = "account_authentication_methods_user"


def mark_reauthenticated(client, user, *, seconds_ago: float = 0) -> None:
    """Record in ``client``'s session that ``user`` re-authenticated ``seconds_ago``."""
    session = client.session
    session[METHODS_KEY] = [{"method": "password", "at": time.time() - seconds_ago,
                             "email": user.email, "reauthenticated": True}]
    session[USER_KEY] = str(user.pk)
    session.save()


def sign_in_fresh(client, user) -> None:
    """Signed in and re-authenticated just now."""
    client.force_login(user)
    mark_reauthenticated(client, user)

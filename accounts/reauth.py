"""Re-authentication before sensitive staff actions: one rule, in one function.

Money moved by hand (refunds, balance adjustments, credit limits), entering a client's
area, payment methods and their gateway secrets, and staff rights each ask the person to
confirm who they are again (allauth's re-authentication: the password, or a second factor)
unless they did so within ``ACCOUNT_REAUTHENTICATION_TIMEOUT`` seconds. A stolen,
unattended session then cannot do them.

The refusal is allauth's own ``ReauthenticationRequired``: its middleware sends the person
to the re-authentication page and, once they confirm, replays the POST they had sent, so
nothing they typed is lost.
"""

from __future__ import annotations

from functools import wraps

from allauth.account.internal.flows.reauthentication import did_recently_reauthenticate
from allauth.core.exceptions import ReauthenticationRequired


def recently_reauthenticated(request) -> bool:
    """Whether the signed-in person confirmed who they are within the timeout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return did_recently_reauthenticate(request)


def require_reauthentication(request) -> None:
    """Refuse (and send to re-authenticate) unless the person re-authenticated recently."""
    if not recently_reauthenticated(request):
        raise ReauthenticationRequired()


def reauthentication_required(view):
    """A view whose POST is sensitive; reading it (GET) needs no re-authentication."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            require_reauthentication(request)
        return view(request, *args, **kwargs)

    return wrapper

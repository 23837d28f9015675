"""Guards of a signed-in session: the second factor staff (and some clients) must have,
the idle timeout, and the device cookie that keeps an owner's sign-ins apart from an
attacker's failed ones."""

from __future__ import annotations

import secrets
import time

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core import signing
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.models import User

# Paths a user who still has to enrol may open: the sign-in, enrolment and sign-out
# pages themselves (all under allauth's /auth/), static files and the favicon.
OPEN_PREFIXES = ("/auth/", "/static/", "/media/", "/favicon")

LAST_SEEN_KEY = "_openbill_last_seen"
# A session's last-seen stamp is written at most this often, not on every request.
LAST_SEEN_RESOLUTION = 60

DEVICE_COOKIE = "openbill_device"
DEVICE_COOKIE_SALT = "accounts.signin.device"
DEVICE_COOKIE_AGE = 365 * 24 * 3600


def second_factor_missing(user: User) -> bool:
    """Whether ``user`` must have a second factor and has none: staff always must, a
    client user when one of their client's groups says so. One query either way."""
    if not user.is_authenticated:
        return False
    # Recovery codes alone are a fallback, not a factor: a TOTP or a security key is.
    has_factor = Exists(Authenticator.objects.filter(
        user=OuterRef("pk"), type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]))
    required = Q(is_staff=True) | Q(client_membership__client__groups__requires_mfa=True)
    return User.objects.filter(required, pk=user.pk).exclude(has_factor).exists()


class RequireSecondFactorMiddleware:
    """Sends a signed-in user who must have a second factor and has none to enrol, before
    any other page (every staff screen included) opens."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated
                and not request.path.startswith(OPEN_PREFIXES)
                and second_factor_missing(user)):
            messages.warning(request, _(
                "Set up two-factor authentication to continue: an authenticator app or a "
                "security key."))
            return redirect(f"{reverse('mfa_activate_totp')}?{urlencode({'next': request.path})}")
        return self.get_response(request)


def idle_seconds_for(user: User) -> int:
    if user.is_staff:
        return settings.SESSION_IDLE_SECONDS_STAFF
    return settings.SESSION_IDLE_SECONDS_CLIENT


class IdleTimeoutMiddleware:
    """Ends a signed-in session after a while without requests (staff sooner than
    clients); the cookie's own expiry follows the same limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            limit = idle_seconds_for(user)
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN_KEY)
            if last_seen is not None and now - last_seen > limit:
                logout(request)
                messages.info(request, _("You were signed out after a while without "
                                         "activity. Please sign in again."))
                return redirect(f"{reverse('account_login')}?{urlencode({'next': request.path})}")
            if last_seen is None or now - last_seen >= LAST_SEEN_RESOLUTION:
                request.session[LAST_SEEN_KEY] = now
                request.session.set_expiry(limit)
        return self.get_response(request)


def idle_clock_start(request, user: User) -> None:
    """Called at every sign-in (Django's user_logged_in): the idle clock starts then, so
    the first requests of a session write nothing."""
    request.session[LAST_SEEN_KEY] = int(time.time())
    request.session.set_expiry(idle_seconds_for(user))


def device_token_for(request, email: str) -> str | None:
    """The device token of an earlier successful sign-in of ``email`` in this browser."""
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        value = signing.loads(raw, salt=DEVICE_COOKIE_SALT, max_age=DEVICE_COOKIE_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("email", "").lower() != email.lower():
        return None
    token = value.get("token")
    return token if isinstance(token, str) else None


def device_cookie_set(response, *, request, email: str) -> None:
    """Remember in this browser that ``email`` signed in here (a fresh token each time)."""
    value = signing.dumps({"email": email.lower(), "token": secrets.token_urlsafe(16)},
                          salt=DEVICE_COOKIE_SALT)
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_COOKIE_AGE, httponly=True,
                        secure=settings.SESSION_COOKIE_SECURE, samesite="Lax")

"""Sign-in events into the action log, and the notice of a sign-in from a new device.

Connected in AccountsConfig.ready to allauth's and Django's signals, so every path that
signs someone in (client and staff alike, all through allauth) is covered.
"""

from __future__ import annotations

import ipaddress

from allauth.account.signals import user_logged_in
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from django.contrib.auth.signals import user_logged_in as django_user_logged_in
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.urls import reverse

from accounts.actionlog import log_action
from accounts.emails import send_security_notice
from accounts.models import ActionLog, Client, ClientUser, User
from accounts.signin import device_cookie_set, idle_clock_start

USER_AGENT_MAX = 300


def _client_of(user: User | None) -> Client | None:
    if user is None or user.is_staff:
        return None
    membership = ClientUser.objects.select_related("client").filter(user=user).first()
    return membership.client if membership is not None else None


def network_of(ip: str | None) -> str:
    """The network a device signs in from: its /24 (IPv4) or /64 (IPv6)."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]


def is_new_device(*, user: User, user_agent: str, network: str) -> bool:
    """The rule: a sign-in is from a new device when the user signed in before, but
    never with this browser (the same user agent) from this network."""
    earlier = ActionLog.objects.filter(actor=user, action="auth.signed_in")
    if not earlier.exists():
        return False  # the first sign-in of a new account: nothing to compare with
    return not earlier.filter(details__user_agent=user_agent,
                              details__network=network).exists()


@receiver(user_logged_in, dispatch_uid="accounts.signin_log.signed_in")
def _signed_in(sender, request, user, response=None, **kwargs):
    user_agent = _user_agent(request)
    network = network_of(request.META.get("REMOTE_ADDR"))
    new_device = is_new_device(user=user, user_agent=user_agent, network=network)
    log_action(actor=user, action="auth.signed_in", obj=user, client=_client_of(user),
               request=request, details={"user_agent": user_agent, "network": network,
                                         "new_device": new_device})
    if response is not None:
        device_cookie_set(response, request=request, email=user.email)
    if new_device:
        send_security_notice(template="accounts/email/new_device", user=user, context={
            "user_agent": user_agent or "—", "ip": request.META.get("REMOTE_ADDR", "—"),
            "sessions_url": request.build_absolute_uri(reverse("usersessions_list")),
        })


@receiver(django_user_logged_in, dispatch_uid="accounts.signin_log.idle_clock")
def _idle_clock(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        idle_clock_start(request, user)


@receiver(user_login_failed, dispatch_uid="accounts.signin_log.sign_in_failed")
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    login = (credentials.get("email") or credentials.get("username") or "")[:254]
    user = User.objects.filter(email__iexact=login).first() if login else None
    log_action(actor=None, action="auth.sign_in_failed", obj=user, client=_client_of(user),
               request=request, details={"login": login})


def _log_authenticator(action: str, *, request, user, authenticator: Authenticator,
                       **details) -> None:
    log_action(actor=user, action=action, obj=user, client=_client_of(user), request=request,
               details={"type": authenticator.type, **details})


@receiver(mfa_signals.authenticator_added, dispatch_uid="accounts.signin_log.mfa_added")
def _mfa_added(sender, request, user, authenticator, **kwargs):
    _log_authenticator("mfa.added", request=request, user=user, authenticator=authenticator)


@receiver(mfa_signals.authenticator_removed, dispatch_uid="accounts.signin_log.mfa_removed")
def _mfa_removed(sender, request, user, authenticator, **kwargs):
    _log_authenticator("mfa.removed", request=request, user=user, authenticator=authenticator)


@receiver(mfa_signals.authenticator_reset, dispatch_uid="accounts.signin_log.mfa_reset")
def _mfa_codes_regenerated(sender, request, user, authenticator, **kwargs):
    _log_authenticator("mfa.recovery_codes_regenerated", request=request, user=user,
                       authenticator=authenticator)


@receiver(mfa_signals.authenticator_used, dispatch_uid="accounts.signin_log.mfa_used")
def _mfa_used(sender, request, user, authenticator, **kwargs):
    # TOTP and keys are logged as the sign-in itself; a recovery code is worth its own
    # line: the user has lost their usual factor, or someone has their codes.
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        _log_authenticator("mfa.recovery_code_used", request=request, user=user,
                           authenticator=authenticator)


@receiver(mfa_signals.authentication_failed, dispatch_uid="accounts.signin_log.mfa_failed")
def _mfa_failed(sender, request, user, authenticator=None, **kwargs):
    log_action(actor=None, action="mfa.failed", obj=user, client=_client_of(user),
               request=request, details={"type": getattr(authenticator, "type", "")})

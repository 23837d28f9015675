from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.urls import reverse

from accounts.signin import device_token_for
from core.encryption import decrypt, encrypt


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        user.name = form.cleaned_data.get("name") or user.name
        if commit:
            user.save()
        return user

    def get_login_redirect_url(self, request):
        if request.user.is_staff:
            return reverse("admin:index")
        return super().get_login_redirect_url(request)

    # Failed sign-ins ---------------------------------------------------------------
    # allauth counts failures per IP and per "key"; its key is the account alone, so
    # five wrong passwords from anywhere lock the owner out too. Here the key is the
    # account on one device: the browser's signed device cookie of an earlier sign-in
    # of that account, else the IP. An attacker's failures then never count against
    # the owner's browser, nor against the owner on another network; the stacked
    # windows of ACCOUNT_RATE_LIMITS["login_failed"] make the cool-down grow.

    def _get_login_attempts_cache_key(self, request, **credentials):
        login = credentials.get("email", credentials.get("username", "")).lower()
        token = device_token_for(request, login)
        if token is not None:
            return f"{login}:device:{token}"
        return f"{login}:ip:{ratelimit.get_ip(request)}"

    def pre_authenticate(self, request, **credentials):
        login = credentials.get("email", credentials.get("username", "")).lower()
        if device_token_for(request, login) is None:
            return super().pre_authenticate(request, **credentials)
        # A browser the account signed in from before is exempt from the per-IP count
        # (an attacker on the same network cannot lock it out) but keeps its own
        # per-device windows.
        rates = account_settings.RATE_LIMITS.get("login_failed") or ""
        own = ",".join(r for r in rates.split(",") if not r.strip().endswith("/ip"))
        self._login_failed_rl_usage = ratelimit.consume(
            request, app="allauth.account", action="login_failed",
            config={"login_failed": own},
            key=self._get_login_attempts_cache_key(request, **credentials))
        if not self._login_failed_rl_usage:
            raise self.validation_error("too_many_login_attempts")
        return None


class MFAAdapter(DefaultMFAAdapter):
    def get_totp_issuer(self) -> str:
        return settings.SITE_NAME

    # The TOTP secret and the recovery codes' seed are secrets at rest like the gateways'
    # keys: stored as Fernet tokens under the same keys (core.encryption).
    def encrypt(self, text: str) -> str:
        return encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt(encrypted_text)

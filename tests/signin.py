"""Signing in through allauth's two steps (password, then a TOTP code) in tests.

Codes are computed with allauth's own TOTP functions from the authenticator's secret,
as an authenticator app would.
"""

from __future__ import annotations

import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, generate_totp_secret, hotp_value
from allauth.mfa.utils import decrypt, encrypt

from tests.factories.accounts import PASSWORD


def totp_add(user, secret: str | None = None) -> str:
    """Give ``user`` a TOTP authenticator; returns its secret."""
    secret = secret or generate_totp_secret()
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP,
                                 data={"secret": encrypt(secret)})
    return secret


def totp_secret(user) -> str:
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return decrypt(authenticator.data["secret"])


def totp_code(secret: str, *, step: int = 0) -> str:
    """The code of the current 30-second step (``step=1``: the next one, which the
    settings' tolerance of one step accepts too; a used code is refused again)."""
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD + step
    return format_hotp_value(hotp_value(secret, counter))


def sign_in(client, email: str, password: str = PASSWORD, *, code: str | None = None,
            next_url: str = "", **extra):
    """Django's test client through the sign-in form, and the code form when asked.
    Returns the last response."""
    url = "/auth/login/" + (f"?next={next_url}" if next_url else "")
    response = client.post(url, {"login": email, "password": password}, **extra)
    if code is not None and response.status_code == 302 \
            and response["Location"].startswith("/auth/2fa/authenticate/"):
        response = client.post("/auth/2fa/authenticate/", {"code": code}, **extra)
    return response


def browser_sign_in(page, email: str, password: str = PASSWORD, *, secret: str | None = None,
                    next_url: str = "") -> None:
    """Playwright: the sign-in page, then the code page when the user has a second
    factor (``secret``)."""
    page.goto("/auth/login/" + (f"?next={next_url}" if next_url else ""))
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("form.form button[type=submit]")
    if secret is not None:
        page.wait_for_url("**/auth/2fa/authenticate/**")
        # The next step's code: the current one may have been used by an earlier
        # sign-in of the same test.
        page.fill("input[name=code]", totp_code(secret, step=1))
        page.click("form.form button[type=submit]")
    page.wait_for_load_state()


def confirmation_link(email: str) -> str:
    """The path of the e-mail confirmation link that sign-up sent to ``email``."""
    import re

    from django.core import mail

    for message in reversed(mail.outbox):
        if email in message.to:
            found = re.search(r"https?://[^/\s]+(/auth/confirm-email/\S+/)", message.body)
            if found:
                return found.group(1)
    raise AssertionError(f"No confirmation link was mailed to {email}")


def browser_confirm_email(page, email: str) -> None:
    """Playwright: open the mailed link and confirm; the new client is then signed in."""
    page.goto(confirmation_link(email))
    page.click("form.form button[type=submit]")

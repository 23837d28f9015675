"""Signed-in sessions: an idle timeout (staff sooner), the list of the user's sessions
with sign-out of the others, and the notice of a sign-in from a new device."""

import time

import pytest
from django.core import mail
from django.test import Client

from accounts.signin import LAST_SEEN_KEY
from tests.factories.accounts import ClientUserFactory, StaffFactory
from tests.signin import sign_in, totp_code, totp_secret

pytestmark = pytest.mark.django_db

BROWSER_A = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
BROWSER_B = "Mozilla/5.0 (Macintosh) Safari/18.0"


def _idle_for(client, seconds: int) -> None:
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - seconds
    session.save()


@pytest.mark.parametrize(("is_staff", "idle_minutes", "still_in"), [
    (False, 29, True),
    (False, 119, True),
    (False, 121, False),
    (True, 29, True),
    (True, 31, False),
])
def test_idle_sessions_end_staff_sooner(client, is_staff, idle_minutes, still_in):
    user = StaffFactory() if is_staff else ClientUserFactory(owner=True).user
    client.force_login(user)
    client.get("/auth/2fa/")
    _idle_for(client, idle_minutes * 60)

    response = client.get("/auth/2fa/")

    assert (client.session.get("_auth_user_id") == str(user.pk)) is still_in
    if not still_in:
        assert response["Location"].startswith("/auth/login/")


def test_a_user_signs_out_their_other_sessions(client):
    owner = ClientUserFactory(owner=True).user
    other_browser = Client()
    sign_in(other_browser, owner.email, HTTP_USER_AGENT=BROWSER_B)
    sign_in(client, owner.email, HTTP_USER_AGENT=BROWSER_A)

    listing = client.get("/auth/sessions/")
    assert listing.status_code == 200
    assert BROWSER_B in listing.content.decode()
    client.post("/auth/sessions/")

    assert other_browser.get("/").status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(("user_agent", "address", "noticed"), [
    (BROWSER_A, "198.51.100.7", False),  # the same browser and network
    (BROWSER_A, "198.51.100.200", False),  # another address of the same /24
    (BROWSER_B, "198.51.100.7", True),  # another browser
    (BROWSER_A, "203.0.113.5", True),  # another network
])
def test_a_sign_in_from_a_new_device_is_mailed(client, user_agent, address, noticed):
    owner = ClientUserFactory(owner=True).user
    sign_in(Client(), owner.email, HTTP_USER_AGENT=BROWSER_A, REMOTE_ADDR="198.51.100.7")
    mail.outbox.clear()

    sign_in(client, owner.email, HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)

    notices = [m for m in mail.outbox if "New sign-in" in m.subject]
    assert len(notices) == int(noticed)
    if noticed:
        assert notices[0].to == [owner.email]
        assert address in notices[0].body


def test_the_first_sign_in_of_an_account_sends_no_notice(client):
    owner = ClientUserFactory(owner=True).user

    sign_in(client, owner.email)

    assert not [m for m in mail.outbox if "New sign-in" in m.subject]


@pytest.mark.parametrize(("who", "path"), [
    *[("client without a factor", p) for p in (
        "/auth/2fa/", "/auth/sessions/", "/auth/2fa/totp/activate/", "/auth/2fa/webauthn/add/")],
    *[("staff", p) for p in (
        "/auth/2fa/", "/auth/sessions/", "/auth/2fa/totp/deactivate/", "/auth/2fa/webauthn/add/",
        "/auth/2fa/webauthn/", "/auth/2fa/recovery-codes/generate/")],
])
def test_the_security_pages_open_for_clients_and_staff(client, who, path):
    user = StaffFactory() if who == "staff" else ClientUserFactory(owner=True).user
    code = totp_code(totp_secret(user)) if who == "staff" else None
    sign_in(client, user.email, code=code)
    client.post("/auth/reauthenticate/", {"password": "a-Strong-pass-42"})

    assert client.get(path).status_code == 200


def test_passwords_shorter_than_twelve_characters_are_refused(client, provider):
    response = client.post("/auth/signup/", {
        "kind": "person", "name": "Short", "email": "short@example.com",
        "password1": "Tr1cky-pw!x", "password2": "Tr1cky-pw!x"})

    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()

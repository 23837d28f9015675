"""Thirty wrong passwords on every sign-in path are slowed down, and the owner still
gets in: from another network (a fresh device), or from their own browser on the
attacker's network. The counters live in the database cache, shared by every process."""

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import ActionLog
from tests.factories.accounts import ClientUserFactory, StaffFactory
from tests.signin import sign_in, totp_code, totp_secret

pytestmark = pytest.mark.django_db

ATTACKER_IP = "203.0.113.9"
OTHER_NETWORK_IP = "198.51.100.7"
LIMITED = "Too many failed login attempts"
ATTEMPTS = 30


def _guess(client, email: str, *, ip: str = ATTACKER_IP, path: str = "/auth/login/"):
    return client.post(path, {"login": email, "username": email, "password": "wrong-guess-123"},
                       REMOTE_ADDR=ip)


def _passwords_checked(email: str) -> int:
    return ActionLog.objects.filter(action="auth.sign_in_failed",
                                    details__login=email).count()


def _signed_in_as(client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


@pytest.fixture
def client_owner(db):
    return ClientUserFactory(owner=True).user


@pytest.fixture
def staff_member(db):
    return StaffFactory()


def test_the_counters_are_in_the_database_cache_shared_by_every_process(client, client_owner):
    assert settings.CACHES["default"]["BACKEND"] == \
        "django.core.cache.backends.db.DatabaseCache"
    _guess(client, client_owner.email)

    with connection.cursor() as cursor:
        table = connection.ops.quote_name(settings.CACHES["default"]["LOCATION"])
        cursor.execute(f"SELECT count(*) FROM {table} WHERE cache_key LIKE %s",
                       ["%allauth:rl:allauth.account:login_failed%"])
        (rows,) = cursor.fetchone()
    assert rows >= 1


def test_thirty_wrong_passwords_for_a_client_are_limited(client, client_owner):
    responses = [_guess(client, client_owner.email) for _ in range(ATTEMPTS)]

    # Five guesses a minute per account and device; then every answer is "too many".
    assert _passwords_checked(client_owner.email) == 5
    assert all(LIMITED in r.content.decode() for r in responses[5:])
    assert not _signed_in_as(client, client_owner)


def test_the_right_password_is_refused_too_from_the_limited_device(client, client_owner):
    for _ in range(ATTEMPTS):
        _guess(client, client_owner.email)

    response = sign_in(client, client_owner.email, REMOTE_ADDR=ATTACKER_IP)

    assert LIMITED in response.content.decode()
    assert not _signed_in_as(client, client_owner)


def test_the_client_owner_still_signs_in_from_another_network(client, client_owner):
    for _ in range(ATTEMPTS):
        _guess(client, client_owner.email)

    response = sign_in(client, client_owner.email, REMOTE_ADDR=OTHER_NETWORK_IP)

    assert response.status_code == 302
    assert _signed_in_as(client, client_owner)


def test_the_owner_s_own_browser_signs_in_on_the_attacker_s_network(
        client, client_owner, django_user_model):
    from django.test import Client

    # The owner signed in from this browser before: it holds the device cookie.
    sign_in(client, client_owner.email, REMOTE_ADDR=ATTACKER_IP)
    client.post("/auth/logout/")
    attacker = Client()
    for _ in range(ATTEMPTS):
        _guess(attacker, client_owner.email)

    response = sign_in(client, client_owner.email, REMOTE_ADDR=ATTACKER_IP)

    assert response.status_code == 302
    assert _signed_in_as(client, client_owner)


def test_the_staff_login_form_checks_no_password(client, staff_member):
    responses = [_guess(client, staff_member.email, path="/staff/login/")
                 for _ in range(ATTEMPTS)]

    assert all(r.status_code == 302 and r["Location"].startswith("/auth/login/")
               for r in responses)
    assert _passwords_checked(staff_member.email) == 0
    assert not _signed_in_as(client, staff_member)


def test_thirty_wrong_passwords_for_staff_are_limited_and_the_owner_signs_in(
        client, staff_member):
    entry = client.get("/staff/login/?next=/staff/")
    assert entry.status_code == 302
    assert entry["Location"] == "/auth/login/?next=%2Fstaff%2F"
    responses = [_guess(client, staff_member.email, path=entry["Location"])
                 for _ in range(ATTEMPTS)]
    assert _passwords_checked(staff_member.email) == 5
    assert all(LIMITED in r.content.decode() for r in responses[5:])

    response = sign_in(client, staff_member.email, next_url="/staff/",
                       code=totp_code(totp_secret(staff_member)), REMOTE_ADDR=OTHER_NETWORK_IP)

    assert response.status_code == 302
    assert response["Location"] == "/staff/"
    assert _signed_in_as(client, staff_member)


def test_the_password_alone_does_not_sign_staff_in(client, staff_member):
    response = sign_in(client, staff_member.email, next_url="/staff/")

    assert response["Location"].startswith("/auth/2fa/authenticate/")
    assert not _signed_in_as(client, staff_member)


def test_wrong_codes_are_limited_too(client, staff_member):
    sign_in(client, staff_member.email)
    secret = totp_secret(staff_member)
    right = {totp_code(secret, step=s) for s in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in right)
    answers = [client.post("/auth/2fa/authenticate/", {"code": wrong}) for _ in range(ATTEMPTS)]

    assert sum(LIMITED in a.content.decode() for a in answers) >= ATTEMPTS - 5
    assert not _signed_in_as(client, staff_member)

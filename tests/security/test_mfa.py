"""Two-factor authentication: required of staff before any staff screen, of clients in a
group that says so; reset by staff only with the right, a fresh re-authentication, an
administrator for staff members, into the action log and the user's mailbox."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.contrib import admin
from django.core import mail
from django.urls import reverse

from accounts.models import ActionLog
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from tests.factories.accounts import (
    PASSWORD,
    AdminFactory,
    ClientGroupFactory,
    ClientUserFactory,
    StaffFactory,
)
from tests.signin import sign_in, totp_add, totp_code, totp_secret

pytestmark = pytest.mark.django_db

ENROL = "/auth/2fa/totp/activate/"


def _staff_urls() -> list[str]:
    """The staff panel's index and every model's list and add page."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        opts = model._meta
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    return urls


def _department(user, name: str):
    user.groups.add(department_sync(name=name, codenames=DEFAULT_DEPARTMENTS[name]))
    return user


@pytest.fixture
def support(db):
    return _department(StaffFactory(email="support@example.com"), "Technical support")


@pytest.fixture
def reset_url():
    return lambda user: reverse("admin:accounts_user_reset_second_factor", args=[user.pk])


def _reauthenticate(client, password: str = PASSWORD):
    response = client.post("/auth/reauthenticate/", {"password": password})
    assert response.status_code == 302


# Enforcement ----------------------------------------------------------------------------

@pytest.mark.parametrize("url", _staff_urls())
def test_staff_without_a_second_factor_are_sent_to_enrol_from_every_staff_screen(client, url):
    client.force_login(AdminFactory(second_factor=False))

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(ENROL)


def test_enrolment_and_sign_out_stay_open_to_staff_without_a_factor(client):
    staff = StaffFactory(second_factor=False)
    client.force_login(staff)

    assert client.get("/auth/2fa/").status_code == 200
    assert client.post("/auth/logout/").status_code == 302
    assert client.session.get("_auth_user_id") is None


def test_staff_with_a_second_factor_open_the_staff_panel(client):
    client.force_login(AdminFactory())

    assert client.get("/staff/").status_code == 200


def test_the_client_area_is_closed_to_staff_without_a_factor_too(client):
    client.force_login(StaffFactory(second_factor=False))

    assert client.get("/").status_code == 302
    assert client.get("/")["Location"].startswith(ENROL)


def test_clients_in_a_group_that_requires_it_enrol_before_the_client_area(client):
    member = ClientUserFactory(owner=True)
    member.client.groups.add(ClientGroupFactory(requires_mfa=True))
    client.force_login(member.user)

    assert client.get("/").status_code == 302
    assert client.get("/services/")["Location"].startswith(ENROL)

    totp_add(member.user)
    assert client.get("/").status_code == 200


def test_other_clients_may_do_without(client):
    member = ClientUserFactory(owner=True)
    member.client.groups.add(ClientGroupFactory(requires_mfa=False))
    client.force_login(member.user)

    assert client.get("/").status_code == 200


def test_a_client_enrols_totp_and_it_is_logged(client, django_capture_on_commit_callbacks):
    member = ClientUserFactory(owner=True)
    sign_in(client, member.user.email)
    _reauthenticate(client)
    page = client.get(ENROL)
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ENROL, {"code": totp_code(secret)})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=member.user, type="totp").exists()
    assert ActionLog.objects.filter(action="mfa.added", actor=member.user,
                                    client=member.client).exists()


# Sign-in events in the action log -------------------------------------------------------

def test_sign_ins_and_failures_are_logged(client):
    member = ClientUserFactory(owner=True)

    sign_in(client, member.user.email, password="not-the-password")
    sign_in(client, member.user.email)

    failed = ActionLog.objects.get(action="auth.sign_in_failed")
    assert failed.details["login"] == member.user.email
    assert failed.client == member.client
    signed_in = ActionLog.objects.get(action="auth.signed_in")
    assert (signed_in.actor, signed_in.client) == (member.user, member.client)


def test_a_used_recovery_code_is_logged(client):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    staff = StaffFactory()
    code = RecoveryCodes.activate(staff).get_unused_codes()[0]
    sign_in(client, staff.email)

    client.post("/auth/2fa/authenticate/", {"code": code})

    assert client.session.get("_auth_user_id") == str(staff.pk)
    assert ActionLog.objects.filter(action="mfa.recovery_code_used", actor=staff).exists()


# Reset by staff ---------------------------------------------------------------------------

def test_support_resets_a_client_s_factor_logged_and_mailed(
        client, support, reset_url, django_capture_on_commit_callbacks):
    member = ClientUserFactory(owner=True)
    totp_add(member.user)
    sign_in(client, support.email, code=totp_code(totp_secret(support)))
    _reauthenticate(client)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reset_url(member.user), {"reason": "Lost phone, ticket 1234"})

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=member.user).exists()
    entry = ActionLog.objects.get(action="mfa.reset_by_staff")
    assert (entry.actor, entry.client) == (support, member.client)
    assert entry.details == {"types": ["totp"], "reason": "Lost phone, ticket 1234"}
    assert [m.to for m in mail.outbox] == [[member.user.email]]
    assert "Two-factor authentication was reset" in mail.outbox[0].subject


def test_the_reset_needs_a_fresh_re_authentication(client, support, reset_url):
    member = ClientUserFactory(owner=True)
    totp_add(member.user)
    sign_in(client, support.email, code=totp_code(totp_secret(support)))

    assert client.get(reset_url(member.user)).status_code == 200  # the form: looking is safe
    response = client.post(reset_url(member.user), {"reason": "Lost phone"})
    assert response.status_code == 302
    assert response["Location"].startswith("/auth/reauthenticate/")
    assert Authenticator.objects.filter(user=member.user).exists()
    assert not ActionLog.objects.filter(action="mfa.reset_by_staff").exists()


def test_the_reset_needs_the_named_right(client, reset_url):
    accountant = _department(StaffFactory(), "Accounting")
    member = ClientUserFactory(owner=True)
    totp_add(member.user)
    sign_in(client, accountant.email, code=totp_code(totp_secret(accountant)))
    _reauthenticate(client)

    response = client.post(reset_url(member.user), {"reason": "Lost phone"})

    assert response.status_code == 403
    assert Authenticator.objects.filter(user=member.user).exists()


def test_a_staff_member_s_factor_is_reset_only_by_an_administrator(client, support, reset_url):
    colleague = StaffFactory()
    sign_in(client, support.email, code=totp_code(totp_secret(support)))
    _reauthenticate(client)

    assert client.post(reset_url(colleague), {"reason": "Lost phone"}).status_code == 403
    assert Authenticator.objects.filter(user=colleague).exists()

    administrator = AdminFactory()
    client.post("/auth/logout/")
    sign_in(client, administrator.email, code=totp_code(totp_secret(administrator)))
    _reauthenticate(client)
    response = client.post(reset_url(colleague), {"reason": "Lost phone"})

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=colleague).exists()
    assert ActionLog.objects.filter(action="mfa.reset_by_staff", actor=administrator).exists()


def test_a_reset_without_a_reason_changes_nothing(client, support, reset_url):
    member = ClientUserFactory(owner=True)
    totp_add(member.user)
    sign_in(client, support.email, code=totp_code(totp_secret(support)))
    _reauthenticate(client)

    response = client.post(reset_url(member.user), {"reason": ""})

    assert response.status_code == 200
    assert Authenticator.objects.filter(user=member.user).exists()


def test_the_client_page_links_support_to_the_reset(client, support, reset_url):
    member = ClientUserFactory(owner=True)
    client.force_login(support)

    page = client.get(reverse("admin:accounts_client_change", args=[member.client.pk]))

    assert reset_url(member.user) in page.content.decode()

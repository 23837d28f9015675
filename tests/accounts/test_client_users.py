import re

import pytest
from django.core import mail

from accounts.models import Access, ActionLog, ClientUser, User
from tests.factories.accounts import ClientUserFactory, UserFactory

pytestmark = pytest.mark.django_db


def _invite(client, **overrides):
    data = {"name": "Nina New", "email": "nina@example.com",
            "services_access": "manage", "finances_access": "read",
            "support_access": "none", "settings_access": "none"}
    data.update(overrides)
    return client.post("/account/users/invite/", data)


def test_owner_invites_a_user_who_sets_a_password_and_signs_in(
    owner_client, owner, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(owner_client)

    assert response.status_code == 302
    membership = ClientUser.objects.get(user__email="nina@example.com")
    assert membership.client == owner.client
    assert (membership.services_access, membership.finances_access,
            membership.support_access, membership.settings_access) == (
        Access.MANAGE, Access.READ, Access.NONE, Access.NONE)
    assert not membership.user.has_usable_password()
    assert ActionLog.objects.filter(action="client_user.invited", actor=owner.user).exists()

    (invitation,) = mail.outbox
    assert invitation.to == ["nina@example.com"]
    link = re.search(r"http://testserver(/auth/password/reset/key/\S+)", invitation.body).group(1)

    owner_client.logout()
    form = client.get(link, follow=True)
    assert form.status_code == 200
    set_password = client.post(form.redirect_chain[-1][0], {
        "password1": "brand-New-secret-77", "password2": "brand-New-secret-77"})
    assert set_password.status_code == 302
    assert client.login(email="nina@example.com", password="brand-New-secret-77")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "exists@example.com"}, "already exists"),
        ({"email": "EXISTS@example.com"}, "already exists"),
        ({"email": "bad"}, "Enter a valid email address"),
        ({"name": ""}, "This field is required"),
        ({"finances_access": "root"}, "Select a valid choice"),
    ],
)
def test_bad_invitation_writes_nothing(owner_client, overrides, message):
    UserFactory(email="exists@example.com")
    users = User.objects.count()

    response = _invite(owner_client, **overrides)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == users
    assert not mail.outbox


def test_rights_are_changed_and_logged(owner_client, owner):
    member = ClientUserFactory(client=owner.client, finances_access=Access.NONE)

    response = owner_client.post(f"/account/users/{member.pk}/", {
        "services_access": "read", "finances_access": "manage",
        "support_access": "read", "settings_access": "read"})

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.finances_access == Access.MANAGE
    entry = ActionLog.objects.get(action="client_user.rights_changed")
    assert entry.details["before"]["finances"] == "none"
    assert entry.details["after"]["finances"] == "manage"


def test_owner_cannot_be_removed_or_restricted(client, owner):
    manager = ClientUserFactory(client=owner.client, settings_access=Access.MANAGE)
    client.force_login(manager.user)

    client.post(f"/account/users/{owner.pk}/remove/")
    client.post(f"/account/users/{owner.pk}/", {
        "services_access": "none", "finances_access": "none",
        "support_access": "none", "settings_access": "none"})

    owner.refresh_from_db()
    assert owner.is_owner
    assert User.objects.filter(pk=owner.user_id).exists()


def test_a_user_cannot_raise_their_own_rights(client, owner):
    manager = ClientUserFactory(client=owner.client, settings_access=Access.MANAGE,
                                finances_access=Access.NONE)
    client.force_login(manager.user)

    response = client.post(f"/account/users/{manager.pk}/", {
        "services_access": "manage", "finances_access": "manage",
        "support_access": "manage", "settings_access": "manage"})

    assert "cannot change your own rights" in response.content.decode()
    manager.refresh_from_db()
    assert manager.finances_access == Access.NONE


def test_removed_user_can_no_longer_sign_in(owner_client, owner, client):
    member = ClientUserFactory(client=owner.client)
    email = member.user.email

    owner_client.post(f"/account/users/{member.pk}/remove/")

    assert not User.objects.filter(email=email).exists()
    entry = ActionLog.objects.get(action="client_user.removed")
    assert entry.details["email"] == email
    assert entry.client == owner.client

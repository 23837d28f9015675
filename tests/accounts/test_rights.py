"""Client users' rights per area, table-driven over pages and actions."""

import pytest

from accounts.models import Access, Payer
from accounts.rights import access_allows
from tests.factories.accounts import ClientUserFactory, PayerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("granted", "needed", "allowed"),
    [
        (Access.NONE, Access.READ, False),
        (Access.NONE, Access.MANAGE, False),
        (Access.READ, Access.READ, True),
        (Access.READ, Access.MANAGE, False),
        (Access.MANAGE, Access.READ, True),
        (Access.MANAGE, Access.MANAGE, True),
        (Access.NONE, Access.NONE, True),
    ],
)
def test_access_levels(granted, needed, allowed):
    assert access_allows(granted, needed) is allowed


@pytest.fixture
def member(owner):
    """A non-owner user in the owner's client; rights set per test."""
    return ClientUserFactory(client=owner.client)


def _sign_in(client, member, **rights):
    for field, value in rights.items():
        setattr(member, field, value)
    member.save()
    client.force_login(member.user)
    return client


PAGES = [
    # (url, rights needed)
    ("/account/payers/", {"finances_access": Access.READ}),
    ("/account/payers/new/", {"finances_access": Access.MANAGE}),
    ("/account/users/", {"settings_access": Access.READ}),
    ("/account/users/invite/", {"settings_access": Access.MANAGE}),
]


@pytest.mark.parametrize(("url", "needed"), PAGES)
@pytest.mark.parametrize("level", [Access.NONE, Access.READ, Access.MANAGE])
def test_pages_open_only_with_the_right(client, member, url, needed, level):
    (field, minimum), = needed.items()
    _sign_in(client, member, **{field: level})

    response = client.get(url)

    if access_allows(level, minimum):
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "have access to this page" in response.content.decode()


def test_reader_of_finances_cannot_change_a_payer(client, member):
    payer = PayerFactory(client=member.client, name="Original")
    _sign_in(client, member, finances_access=Access.READ)

    edit = client.post(f"/account/payers/{payer.pk}/", {"name": "Changed"})
    delete = client.post(f"/account/payers/{payer.pk}/delete/")

    assert edit.status_code == 403
    assert delete.status_code == 403
    payer.refresh_from_db()
    assert payer.name == "Original"


def test_manager_of_finances_can_add_a_payer(client, member):
    _sign_in(client, member, finances_access=Access.MANAGE)

    response = client.post("/account/payers/new/", {
        "kind": "individual", "name": "Ann Payer", "country": "US", "email": "ann@example.com",
    })

    assert response.status_code == 302
    assert Payer.objects.get(client=member.client).name == "Ann Payer"


def test_owner_has_every_right(owner_client, owner):
    for url, _ in PAGES:
        assert owner_client.get(url).status_code == 200, url


def test_menu_shows_only_areas_the_user_may_open(client, member):
    _sign_in(client, member, finances_access=Access.NONE, settings_access=Access.READ)

    html = client.get("/").content.decode()

    assert 'href="/account/users/"' in html
    assert 'href="/account/payers/"' not in html


def test_balance_is_hidden_without_finance_rights(client, member):
    _sign_in(client, member, finances_access=Access.NONE)
    assert "Balance" not in client.get("/account/").content.decode()

    _sign_in(client, member, finances_access=Access.READ)
    assert "Balance" in client.get("/account/").content.decode()

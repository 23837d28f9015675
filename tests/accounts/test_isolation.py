"""A client who changes an id in a URL gets 404, never another client's data."""

import pytest

from accounts.models import ClientUser, Payer
from tests.factories.accounts import ClientUserFactory, PayerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def other():
    """Another client with a payer and a second user."""
    owner = ClientUserFactory(owner=True)
    payer = PayerFactory(client=owner.client, name="Secret Payer Ltd")
    member = ClientUserFactory(client=owner.client)
    return owner.client, payer, member


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/account/payers/{payer}/"),
        ("post", "/account/payers/{payer}/"),
        ("post", "/account/payers/{payer}/default/"),
        ("post", "/account/payers/{payer}/delete/"),
        ("get", "/account/users/{member}/"),
        ("post", "/account/users/{member}/"),
        ("post", "/account/users/{member}/remove/"),
    ],
)
def test_foreign_ids_are_404_and_change_nothing(owner_client, other, method, url):
    _, payer, member = other
    url = url.format(payer=payer.pk, member=member.pk)

    response = getattr(owner_client, method)(url, {"name": "Hijacked", "kind": "individual"})

    assert response.status_code == 404
    assert "Secret Payer" not in response.content.decode()
    assert Payer.objects.get(pk=payer.pk).name == "Secret Payer Ltd"
    assert ClientUser.objects.filter(pk=member.pk).exists()


def test_lists_show_only_the_own_client(owner_client, owner, other):
    PayerFactory(client=owner.client, name="My Payer")

    payers = owner_client.get("/account/payers/").content.decode()
    users = owner_client.get("/account/users/").content.decode()

    assert "My Payer" in payers
    assert "Secret Payer" not in payers
    assert other[2].user.email not in users


def test_htmx_request_with_foreign_id_is_404(htmx_client, other):
    _, payer, _ = other

    response = htmx_client.post(f"/account/payers/{payer.pk}/default/")

    assert response.status_code == 404
    assert Payer.objects.get(pk=payer.pk).is_default is False

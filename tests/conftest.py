import pytest
from django.test import override_settings

from tests.factories.accounts import (
    ClientUserFactory,
    ProviderFactory,
    StaffFactory,
)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Tests create many users; hashing their passwords the production way takes seconds."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def provider(db):
    return ProviderFactory(is_default=True)


@pytest.fixture
def owner(db, provider):
    """The owner membership of a client account (owner.user signs in, owner.client is it)."""
    return ClientUserFactory(owner=True, client__provider=provider)


@pytest.fixture
def owner_client(client, owner):
    """Django's test client, signed in as the owner of a client account."""
    client.force_login(owner.user)
    return client


@pytest.fixture
def htmx_client(owner_client):
    owner_client.defaults["HTTP_HX_REQUEST"] = "true"
    return owner_client


@pytest.fixture
def staff_user(db):
    return StaffFactory()

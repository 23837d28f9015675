import pytest

from accounts.models import ActionLog, Client, ClientUser, User
from accounts.registration import provider_for_host
from tests.factories.accounts import ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = "/auth/signup/"


def _form(**overrides):
    data = {
        "kind": "person",
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "password1": "compile-Rear-admiral-1906",
        "password2": "compile-Rear-admiral-1906",
    }
    data.update(overrides)
    return data


def test_signup_creates_client_and_owner_with_the_same_name(client, provider):
    response = client.post(SIGNUP, _form())

    assert response.status_code == 302
    user = User.objects.get(email="grace@example.com")
    membership = ClientUser.objects.get(user=user)
    assert membership.is_owner
    assert membership.client.name == user.name == "Grace Hopper"
    assert membership.client.provider == provider
    assert membership.client.email == "grace@example.com"
    assert ActionLog.objects.filter(action="client.registered", client=membership.client,
                                    actor=user).exists()


def test_signup_as_organisation(client, provider):
    client.post(SIGNUP, _form(kind="organisation", name="Acme Ltd"))

    assert Client.objects.get(name="Acme Ltd").kind == Client.Kind.ORGANISATION


def test_signed_up_user_lands_in_the_client_area(client, provider):
    client.post(SIGNUP, _form())

    response = client.get("/")
    assert response.status_code == 200
    assert b"Grace Hopper" in response.content


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "taken@example.com"}, "already registered"),
        ({"email": "TAKEN@example.com"}, "already registered"),
        ({"name": ""}, "This field is required"),
        ({"email": "not-an-email"}, "Enter a valid email address"),
        ({"password2": "something-else-entirely"}, "same password"),
        ({"kind": "robot"}, "Select a valid choice"),
    ],
)
def test_bad_signup_shows_the_error_and_writes_nothing(client, provider, overrides, message):
    UserFactory(email="taken@example.com")
    users, clients = User.objects.count(), Client.objects.count()

    response = client.post(SIGNUP, _form(**overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert (User.objects.count(), Client.objects.count()) == (users, clients)


def test_signup_without_any_provider_is_refused(client, db):
    response = client.post(SIGNUP, _form())

    assert "Sign-up is closed" in response.content.decode()
    assert not User.objects.exists()


def test_provider_is_chosen_by_host_before_the_default(db):
    default = ProviderFactory(is_default=True)
    eu = ProviderFactory(domain="eu.example.com", currency="EUR")

    assert provider_for_host("eu.example.com:8000") == eu
    assert provider_for_host("EU.example.com") == eu
    assert provider_for_host("other.example.com") == default

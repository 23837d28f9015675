import pytest
from django.core import mail

from accounts.models import ActionLog, Client, ClientUser, User
from accounts.registration import provider_for_host
from tests.factories.accounts import ProviderFactory, UserFactory
from tests.signin import confirmation_link

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


def test_signed_up_user_confirms_the_address_and_lands_in_the_client_area(client, provider):
    response = client.post(SIGNUP, _form())
    assert response["Location"] == "/auth/confirm-email/"

    client.post(confirmation_link("grace@example.com"))
    response = client.get("/")
    assert response.status_code == 200
    assert b"Grace Hopper" in response.content


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
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


@pytest.mark.parametrize("email", ["taken@example.com", "TAKEN@example.com"])
def test_a_registered_address_gets_the_same_answer_as_a_new_one(client, provider, email):
    """Sign-up does not tell who is a client: both answers are "check your mailbox"; the
    owner of the registered address is told by e-mail that the account exists."""
    UserFactory(email="taken@example.com")
    users, clients = User.objects.count(), Client.objects.count()

    taken = client.post(SIGNUP, _form(email=email))
    client.logout()
    fresh = client.post(SIGNUP, _form(email="new.client@example.com"))

    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert (User.objects.count(), Client.objects.count()) == (users + 1, clients + 1)
    assert [m.subject for m in mail.outbox if "taken@example.com" in m.to] == [
        "[testserver] Account Already Exists"]


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

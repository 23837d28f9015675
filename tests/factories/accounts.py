import factory
from factory.django import DjangoModelFactory

from accounts.models import (
    Access,
    ActionLog,
    Client,
    ClientGroup,
    ClientUser,
    Company,
    Department,
    Payer,
    Provider,
    User,
)

PASSWORD = "a-Strong-pass-42"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)


def _second_factor(user, create, extracted, **kwargs):
    """Staff cannot open a staff screen without a second factor (accounts.signin): they
    get a TOTP authenticator, unless made with ``second_factor=False``."""
    if create and extracted is not False:
        from tests.signin import totp_add

        totp_add(user)


class StaffFactory(UserFactory):
    class Meta:
        skip_postgeneration_save = True

    is_staff = True
    second_factor = factory.PostGeneration(_second_factor)


class AdminFactory(UserFactory):
    class Meta:
        skip_postgeneration_save = True

    is_staff = True
    is_superuser = True
    second_factor = factory.PostGeneration(_second_factor)


class DepartmentFactory(DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Department {n}")


class ProviderFactory(DjangoModelFactory):
    class Meta:
        model = Provider

    name = factory.Sequence(lambda n: f"Provider {n}")
    currency = "USD"


class CompanyFactory(DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    legal_name = factory.LazyAttribute(lambda o: f"{o.name} LLC")
    country = "US"
    address = "1 Main Street, Springfield"
    invoice_prefix = factory.Sequence(lambda n: f"C{n}-")


class ClientGroupFactory(DjangoModelFactory):
    class Meta:
        model = ClientGroup

    name = factory.Sequence(lambda n: f"Group {n}")


class ClientFactory(DjangoModelFactory):
    class Meta:
        model = Client

    provider = factory.SubFactory(ProviderFactory)
    kind = Client.Kind.PERSON
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"client{n}@example.com")


class ClientUserFactory(DjangoModelFactory):
    """A user inside a client account; ``owner=True`` for the account's owner."""

    class Meta:
        model = ClientUser

    client = factory.SubFactory(ClientFactory)
    user = factory.SubFactory(UserFactory)
    is_owner = False
    services_access = Access.READ
    finances_access = Access.NONE
    support_access = Access.MANAGE
    settings_access = Access.NONE

    class Params:
        owner = factory.Trait(is_owner=True)


class PayerFactory(DjangoModelFactory):
    class Meta:
        model = Payer

    client = factory.SubFactory(ClientFactory)
    kind = Payer.Kind.INDIVIDUAL
    name = factory.Faker("name")
    country = "US"
    address = "1 Main Street"
    email = factory.Sequence(lambda n: f"payer{n}@example.com")


class ActionLogFactory(DjangoModelFactory):
    class Meta:
        model = ActionLog

    actor = factory.SubFactory(UserFactory)
    actor_label = factory.LazyAttribute(lambda o: o.actor.email)
    action = "test.action"

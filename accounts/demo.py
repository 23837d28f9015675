"""Demo data of the accounts layer for `manage.py seed_demo`. Idempotent."""

from __future__ import annotations

from decimal import Decimal

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import generate_totp_secret
from allauth.mfa.utils import encrypt
from django.db import transaction

from accounts.models import (
    Access,
    Client,
    ClientGroup,
    ClientUser,
    Company,
    Department,
    Payer,
    Provider,
    User,
)
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync

DEMO_PASSWORD = "demo-password"


def _user(email: str, name: str, **fields) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD, name=name, **fields)
    return user


def _client(*, provider, owner_email, name, kind, phone="") -> Client:
    owner = _user(owner_email, name)
    membership = ClientUser.objects.filter(user=owner).select_related("client").first()
    if membership is not None:
        return membership.client
    client = Client.objects.create(provider=provider, kind=kind, name=name, email=owner_email,
                                   phone=phone)
    ClientUser.objects.create(client=client, user=owner, is_owner=True)
    return client


def demo_totp_seed(user: User) -> Authenticator:
    """Staff must have a second factor, so the demo staff get a TOTP authenticator with
    a secret of this checkout; `manage.py demo_totp <email>` prints its current code."""
    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if existing is not None:
        return existing
    return Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP,
        data={"secret": encrypt(generate_totp_secret()), "demo": True})


@transaction.atomic
def seed() -> list[tuple[str, str, str]]:
    """Create the demo world; returns the logins to print (who, e-mail, password)."""
    usd, _ = Provider.objects.get_or_create(
        name="OpenBill Hosting", defaults={
            "currency": "USD", "is_default": True, "promised_payment_max": Decimal("50.00"),
            "promised_payment_days": 3, "promised_payments_per_month": 1}
    )
    eur, _ = Provider.objects.get_or_create(
        name="OpenBill Domains EU", defaults={"currency": "EUR", "domain": "eu.localhost"}
    )
    us_company, _ = Company.objects.get_or_create(name="OpenBill Inc.", defaults={
        "legal_name": "OpenBill Inc.", "country": "US",
        "address": "100 Market Street\nSan Francisco, CA 94105", "tax_id": "12-3456789",
        "email": "billing@openbill.example", "invoice_prefix": "OBI-",
        "bank_details": "Bank of Example, ACH routing 011000015, account 000123456789",
    })
    us_company.providers.add(usd)
    eu_company, _ = Company.objects.get_or_create(name="OpenBill Europe", defaults={
        "legal_name": "OpenBill Europe GmbH", "country": "DE",
        "address": "Friedrichstraße 100\n10117 Berlin", "vat_id": "DE136695976",
        "email": "billing-eu@openbill.example", "invoice_prefix": "OBE-",
        "bank_details": "IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX",
    })
    eu_company.providers.add(eur, usd)
    vip, _ = ClientGroup.objects.get_or_create(name="VIP", defaults={
        "description": "Clients with priority support."})
    ClientGroup.objects.get_or_create(name="Resellers", defaults={
        "description": "Partners who resell our services."})

    for name, codenames in DEFAULT_DEPARTMENTS.items():
        department_sync(name=name, codenames=codenames)
    _user("admin@example.com", "Ada Admin", is_staff=True, is_superuser=True)
    support = _user("support@example.com", "Sam Support", is_staff=True)
    support.groups.add(*Department.objects.filter(name="Technical support"))
    accountant = _user("accounting@example.com", "Alex Accountant", is_staff=True)
    accountant.groups.add(*Department.objects.filter(name="Accounting"))
    for member in (User.objects.get(email="admin@example.com"), support, accountant):
        demo_totp_seed(member)

    demo = _client(provider=usd, owner_email="client@example.com", name="Dana Client",
                   kind=Client.Kind.PERSON, phone="+1 415 555 0100")
    demo.groups.add(vip)
    if not demo.payers.exists():
        Payer.objects.create(client=demo, kind=Payer.Kind.INDIVIDUAL, name="Dana Client",
                             country="US", address="1 Main St, Springfield",
                             email="client@example.com", is_default=True)
        Payer.objects.create(client=demo, kind=Payer.Kind.COMPANY, name="Dana Studio GmbH",
                             country="DE", address="Hauptstraße 1\n80331 München",
                             vat_id="DE136695976", email="accounts@dana-studio.example")
    colleague = _user("colleague@example.com", "Chris Colleague")
    ClientUser.objects.get_or_create(user=colleague, defaults={
        "client": demo, "invited_by": demo.memberships.get(is_owner=True).user,
        "services_access": Access.MANAGE, "finances_access": Access.READ,
        "support_access": Access.MANAGE, "settings_access": Access.NONE,
    })
    acme = _client(provider=eur, owner_email="acme@example.com", name="Acme Hosting BV",
                   kind=Client.Kind.ORGANISATION)
    if not acme.payers.exists():
        Payer.objects.create(client=acme, kind=Payer.Kind.COMPANY, name="Acme Hosting BV",
                             country="NL", address="Keizersgracht 1\n1015 CJ Amsterdam",
                             vat_id="NL004495445B01", email="finance@acme.example",
                             is_default=True)
    return [
        ("Administrator (staff panel, 2FA)", "admin@example.com", DEMO_PASSWORD),
        ("Support employee (2FA)", "support@example.com", DEMO_PASSWORD),
        ("Accounting employee (2FA)", "accounting@example.com", DEMO_PASSWORD),
        ("Demo client (owner)", "client@example.com", DEMO_PASSWORD),
        ("Demo client's colleague", "colleague@example.com", DEMO_PASSWORD),
    ]

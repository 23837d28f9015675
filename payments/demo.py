"""Demo payment methods and a few payments for `manage.py seed_demo`. Idempotent."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from djmoney.money import Money

from accounts.models import Client, Company
from billing.models import TaxRate
from payments.gateways import GatewayResult
from payments.models import Gateway, PaymentMethod, PaymentStatus, SandboxTransaction
from payments.processing import payment_apply, payment_create, payment_refresh, payment_start


def _method(company, name, gateway, currency, **fields) -> PaymentMethod:
    method, _ = PaymentMethod.objects.get_or_create(
        company=company, name=name, currency=currency, defaults={"gateway": gateway, **fields})
    return method


@transaction.atomic
def seed() -> None:
    us = Company.objects.get(name="OpenBill Inc.")
    eu = Company.objects.get(name="OpenBill Europe")
    TaxRate.objects.get_or_create(company=eu, country="", defaults={"rate": Decimal("0.19")})
    TaxRate.objects.get_or_create(company=eu, country="FR", defaults={"rate": Decimal("0.20")})
    card = _method(us, "Card (sandbox)", Gateway.SANDBOX, "USD", can_save=True, position=1,
                   fee_percent=Decimal("0"), maximum=Decimal("5000"))
    bank = _method(us, "Bank transfer", Gateway.BANK_TRANSFER, "USD", position=2,
                   minimum=Decimal("20.00"))
    _method(eu, "Card (sandbox)", Gateway.SANDBOX, "EUR", can_save=True, position=1)
    _method(eu, "Bank transfer (SEPA)", Gateway.BANK_TRANSFER, "EUR", position=2)
    _method(us, "Stripe (set your keys)", Gateway.STRIPE, "USD", is_enabled=False, position=3)

    client = Client.objects.get(email="client@example.com")
    if client.payments.exists():
        return
    owner = client.memberships.get(is_owner=True).user
    # A card top-up paid at the sandbox with the card saved, as a client would: the
    # sandbox keeps its side of the payment, so staff can refund it, and the saved card
    # pays the demo's pending order in one click.
    paid, _ = payment_create(client=client, method=card, amount=Money("150.00", "USD"),
                             idempotency_key="demo-topup-1", user=owner, save_method=True)
    payment_start(paid, return_url="", cancel_url="")
    paid.refresh_from_db()
    SandboxTransaction.objects.filter(reference=paid.gateway_reference).update(
        status=SandboxTransaction.Status.SUCCEEDED, card_token="sbx_card_demo4242")
    payment_refresh(paid, source="demo")
    pending, _ = payment_create(client=client, method=bank, amount=Money("200.00", "USD"),
                                idempotency_key="demo-bank-1", user=owner)
    payment_apply(payment_id=pending.pk, source="demo",
                  result=GatewayResult(status=PaymentStatus.PENDING, reference="bank-demo"))

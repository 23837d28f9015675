from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from billing.models import GroupDiscount
from cart.models import Agreement, PromoCode


class PromoCodeFactory(DjangoModelFactory):
    class Meta:
        model = PromoCode

    code = factory.Sequence(lambda n: f"PROMO{n}")
    kind = PromoCode.Kind.PERCENT
    value = Decimal(10)
    currency = "USD"
    max_uses_per_client = None


class GroupDiscountFactory(DjangoModelFactory):
    class Meta:
        model = GroupDiscount

    group = factory.SubFactory("tests.factories.accounts.ClientGroupFactory")
    name = "Group discount"
    percent = Decimal(20)


class AgreementFactory(DjangoModelFactory):
    class Meta:
        model = Agreement

    title = factory.Sequence(lambda n: f"Terms of service {n}")
    text = "You agree to use the service lawfully."

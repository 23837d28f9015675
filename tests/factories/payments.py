from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from payments.models import Gateway, PaymentMethod


class PaymentMethodFactory(DjangoModelFactory):
    """A sandbox method of a company that sells for ``provider`` (pass ``provider=``)."""

    class Meta:
        model = PaymentMethod
        skip_postgeneration_save = True

    company = factory.SubFactory("tests.factories.accounts.CompanyFactory")
    name = factory.Sequence(lambda n: f"Method {n}")
    gateway = Gateway.SANDBOX
    currency = "USD"
    minimum = Decimal("5.00")
    maximum = Decimal("1000.00")
    can_save = True

    @factory.post_generation
    def provider(method, create, extracted, **kwargs):
        if create and extracted is not None:
            method.company.providers.add(extracted)

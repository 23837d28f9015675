import pytest

from billing.audit import audit
from tests.factories.payments import PaymentMethodFactory


@pytest.fixture
def method(provider):
    return PaymentMethodFactory(provider=provider, currency=provider.currency)


@pytest.fixture
def books_balance(request):
    """Every money scenario ends with the audit of the books."""
    yield
    assert audit() == []

import pytest

from billing.audit import audit


@pytest.fixture
def books_balance():
    yield
    assert audit() == []

"""Every amount has a limit and one parser: malformed, huge or foreign-digit amounts get a
clear message and write nothing; NUL bytes never reach the database."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from djmoney.money import Money
from hypothesis import given
from hypothesis import strategies as st

from billing.models import Invoice
from cart.models import Cart
from core.money import AMOUNT_CEILING, AmountError, parse_amount, plain_amount
from payments.models import Gateway, Payment
from tests.factories.payments import PaymentMethodFactory
from tests.payments.helpers import start_top_up

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("books_balance")]


@pytest.fixture
def bank(provider):
    """A bank transfer with the model's own default limits."""
    return PaymentMethodFactory(provider=provider, gateway=Gateway.BANK_TRANSFER,
                                name="Bank transfer", maximum=Decimal("10000.00"),
                                minimum=Decimal("1.00"))


@pytest.mark.parametrize(("amount", "message"), [
    ("1000000000.00", "The largest payment by Bank transfer is 10,000.00 USD"),
    ("999999999999999.00", "The largest amount is 1,000,000,000.00 USD"),
    ("99999999999999999999", "The largest amount is 1,000,000,000.00 USD"),
    ("1e30", "Enter the amount in digits 0-9"),
    ("\u0663\u0660", "Enter the amount in digits 0-9"),  # Arabic-Indic thirty
    ("\uff11\uff10", "Enter the amount in digits 0-9"),  # full-width ten
    ("Infinity", "Enter the amount in digits 0-9"),
    ("sNaN", "Enter the amount in digits 0-9"),
    ("0x10", "Enter the amount in digits 0-9"),
    ("1 000", "Enter the amount in digits 0-9"),
    ("-25", "greater than zero"),
    ("0.00", "greater than zero"),
    ("25.001", "USD amounts have at most 2 decimal places"),
    ("1,500", "without thousands separators"),
    ("0.50", "The smallest payment by Bank transfer is 1.00 USD"),
])
def test_an_amount_out_of_bounds_gets_a_message_and_writes_nothing(owner_client, bank, amount,
                                                                   message):
    response = start_top_up(owner_client, bank, amount)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Payment.objects.exists()
    assert not Invoice.objects.exists()


def test_a_nul_byte_in_any_field_is_refused_before_any_view(owner_client, bank):
    response = start_top_up(owner_client, bank, "25.00\x00")
    promo = owner_client.post("/cart/promo/", {"code": "WELCOME\x0010"})

    assert response.status_code == promo.status_code == 400
    assert "NUL" in response.content.decode()
    assert not Payment.objects.exists()
    assert Cart.objects.filter(promo_code__isnull=False).count() == 0


def test_a_promo_code_is_read_through_its_form(owner_client):
    response = owner_client.post("/cart/promo/", {"code": "x" * 41}, follow=True)

    assert "at most 40 characters" in response.content.decode()


def test_a_method_cannot_take_more_than_the_ceiling(provider):
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentMethodFactory(provider=provider, maximum=AMOUNT_CEILING + 1)


@given(st.text(max_size=40))
def test_the_parser_returns_an_amount_in_bounds_or_says_why(text):
    try:
        amount, message = parse_amount(text, "USD"), ""
    except AmountError as error:
        amount, message = None, str(error)
    if amount is None:
        assert message
    else:
        assert Decimal(0) < amount.amount <= AMOUNT_CEILING
        assert amount.amount == amount.amount.quantize(Decimal("0.01"))


@given(st.decimals(min_value=Decimal("0.01"), max_value=AMOUNT_CEILING, places=2))
def test_what_a_form_shows_the_parser_reads_back(value):
    money = Money(value, "USD")

    assert parse_amount(plain_amount(money), "USD") == money


@pytest.mark.parametrize(("currency", "text", "expected"), [
    ("JPY", "1500", Decimal("1500")),
    ("BHD", "1.250", Decimal("1.250")),
    ("USD", "12,50", Decimal("12.50")),
])
def test_each_currency_has_its_own_decimals(currency, text, expected):
    assert parse_amount(text, currency).amount == expected


@pytest.mark.parametrize(("currency", "text", "message"), [
    ("JPY", "1500.5", "JPY amounts are whole numbers"),
    ("BHD", "1.2505", "BHD amounts have at most 3 decimal places"),
])
def test_too_many_decimals_for_the_currency(currency, text, message):
    with pytest.raises(AmountError, match=message):
        parse_amount(text, currency)


def test_a_nul_byte_is_refused_whatever_the_case_of_the_content_type(owner_client):
    response = owner_client.generic(
        "POST", "/cart/promo/", "code=WELCOME%0010",
        content_type="Application/X-WWW-Form-Urlencoded")

    assert response.status_code == 400


def test_a_form_whose_hidden_key_was_lost_says_so(owner_client, bank):
    response = owner_client.post("/payments/add-funds/", {
        "method": bank.pk, "amount": "25.00", "idempotency_key": "x" * 65})

    assert "This form has expired" in response.content.decode()
    assert not Payment.objects.exists()

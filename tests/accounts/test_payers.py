import pytest
from django.core.exceptions import ValidationError

from accounts import payers
from accounts.models import ActionLog, Payer
from accounts.tax_ids import normalize_tax_id, normalize_vat_id
from tests.factories.accounts import PayerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("country", "number", "expected"),
    [
        ("DE", "DE136695976", "DE136695976"),
        ("DE", "de 136 695 976", "DE136695976"),
        ("DE", "136695976", "DE136695976"),
        ("NL", "NL004495445B01", "NL004495445B01"),
        ("GR", "094259216", "EL094259216"),
        ("GB", "GB 980 7806 84", "980780684"),
        ("CH", "CHE-107.787.577 IVA", "CHE107787577IVA"),
        ("RU", "7707083893", "7707083893"),
        ("UA", "12345678", "12345678"),
    ],
)
def test_valid_vat_ids_are_normalised(country, number, expected):
    assert normalize_vat_id(country, number) == expected


@pytest.mark.parametrize(
    ("country", "number", "message"),
    [
        ("DE", "DE136695977", "not a valid VAT id"),
        ("DE", "NL004495445B01", "belongs to another country"),
        ("FR", "FR123", "not a valid VAT id"),
        ("RU", "7707083890", "not a valid VAT id"),
        ("UA", "!!", "3 to 40 letters"),
    ],
)
def test_invalid_vat_ids_are_refused_with_a_reason(country, number, message):
    with pytest.raises(ValidationError, match=message):
        normalize_vat_id(country, number)


def test_us_tax_id_is_checked():
    assert normalize_tax_id("US", "12-3456789") == "123456789"
    with pytest.raises(ValidationError):
        normalize_tax_id("US", "00-0000000")


def _company_form(**overrides):
    data = {"kind": "company", "name": "Beta GmbH", "country": "DE",
            "address": "Hauptstr. 1, Berlin", "vat_id": "DE136695976",
            "email": "books@beta.example", "tax_id": ""}
    data.update(overrides)
    return data


def test_company_payer_is_created_through_the_form(owner_client, owner):
    response = owner_client.post("/account/payers/new/", _company_form())

    assert response.status_code == 302
    payer = Payer.objects.get(client=owner.client)
    assert payer.vat_id == "DE136695976"
    assert payer.is_default
    assert ActionLog.objects.filter(action="payer.created", object_id=str(payer.pk)).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"vat_id": "DE000000000"}, "not a valid VAT id"),
        ({"vat_id": "FR40303265045"}, "belongs to another country"),
        ({"address": ""}, "needs its registered address"),
        ({"name": ""}, "This field is required"),
        ({"country": "XX"}, "Select a valid choice"),
        ({"kind": "individual", "address": ""}, "Only a company or a sole proprietor"),
        ({"email": ""}, "This field is required"),
    ],
)
def test_bad_payer_gets_a_message_and_writes_nothing(owner_client, owner, overrides, message):
    response = owner_client.post("/account/payers/new/", _company_form(**overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Payer.objects.filter(client=owner.client).exists()
    assert not ActionLog.objects.filter(action="payer.created").exists()


def test_default_payer_moves_when_another_is_chosen_or_it_is_deleted(owner):
    first = payers.payer_create(client=owner.client, actor=owner.user, data={
        "kind": "individual", "name": "First", "country": "US", "email": "a@example.com"})
    second = payers.payer_create(client=owner.client, actor=owner.user, data={
        "kind": "individual", "name": "Second", "country": "US", "email": "b@example.com"})
    assert (first.is_default, second.is_default) == (True, False)

    payers.payer_set_default(payer=second, actor=owner.user)
    first.refresh_from_db()
    assert (first.is_default, Payer.objects.get(pk=second.pk).is_default) == (False, True)

    payers.payer_delete(payer=Payer.objects.get(pk=second.pk), actor=owner.user)
    first.refresh_from_db()
    assert first.is_default


def test_payer_delete_through_htmx_re_renders_the_table(htmx_client, owner):
    payer = PayerFactory(client=owner.client, name="Gone Soon", is_default=True)
    PayerFactory(client=owner.client, name="Stays")

    response = htmx_client.post(f"/account/payers/{payer.pk}/delete/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Stays" in html
    assert "Gone Soon</a>" not in html
    assert Payer.objects.get(client=owner.client).is_default


def test_a_payer_named_on_an_invoice_is_not_deleted_and_the_client_is_told(owner_client, owner):
    from djmoney.money import Money

    from billing.invoicing import LineSpec, invoice_issue
    from billing.models import InvoiceKind
    from tests.factories.accounts import CompanyFactory

    payer = PayerFactory(client=owner.client, name="Billed Ltd")
    invoice_issue(company=CompanyFactory(), client=owner.client, kind=InvoiceKind.SERVICES,
                  payer=payer, lines=[LineSpec("Hosting", Money("9.00", "USD"))])

    response = owner_client.post(f"/account/payers/{payer.pk}/delete/", follow=True)

    assert response.status_code == 200
    assert "cannot be deleted" in response.content.decode()
    assert Payer.objects.filter(pk=payer.pk).exists()

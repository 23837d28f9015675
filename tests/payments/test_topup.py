"""Add funds through the sandbox gateway, as the seeds describe: an advance-payment
invoice goes from New to Paid and the balance rises, exactly once."""

import re
from decimal import Decimal

import pytest

from billing.ledger import personal_account
from billing.models import Invoice, InvoiceStatus, Transaction
from payments.models import Payment, PaymentStatus, SavedPaymentMethod
from tests.factories.accounts import ClientUserFactory, ProviderFactory
from tests.factories.payments import PaymentMethodFactory
from tests.payments.helpers import decide, deliver, start_top_up

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("books_balance")]


def test_approved_payment_pays_the_invoice_and_credits_the_balance(owner_client, owner, method):
    started = start_top_up(owner_client, method, "50.00")
    assert started.status_code == 302
    assert "/payments/sandbox/" in started["Location"]
    payment = Payment.objects.get(client=owner.client)
    invoice = payment.invoice
    assert (invoice.status, invoice.lines.get().description) == (InvoiceStatus.NEW,
                                                                 "Advanced payment")

    sandbox = decide(owner_client, started, "approve")
    page = owner_client.get(sandbox.return_url, follow=True)

    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert invoice.status == InvoiceStatus.PAID
    assert personal_account(owner.client).balance == Decimal("50.00")
    assert "50.00 USD added to your balance" in page.content.decode()

    # The gateway's webhook arrives afterwards: it changes nothing.
    assert deliver(owner_client, sandbox, "payment.succeeded").status_code == 200
    assert personal_account(owner.client).balance == Decimal("50.00")
    assert Transaction.objects.filter(client=owner.client).count() == 1


def test_declined_payment_credits_nothing(owner_client, owner, method):
    started = start_top_up(owner_client, method, "50.00")
    sandbox = decide(owner_client, started, "decline")
    owner_client.get(sandbox.return_url)

    payment = Payment.objects.get(client=owner.client)
    assert payment.status == PaymentStatus.FAILED
    assert payment.invoice.status == InvoiceStatus.NEW
    assert personal_account(owner.client).balance == 0


def test_pending_payment_is_credited_when_the_webhook_says_so(owner_client, owner, method):
    started = start_top_up(owner_client, method, "20.00")
    sandbox = decide(owner_client, started, "pending")
    page = owner_client.get(sandbox.return_url, follow=True)
    assert "Waiting for the payment system" in page.content.decode()
    assert 'hx-trigger="every 2s"' in page.content.decode()

    sandbox.status = "succeeded"
    sandbox.save()
    response = deliver(owner_client, sandbox, "payment.succeeded")

    assert response.status_code == 200
    assert Payment.objects.get(client=owner.client).status == PaymentStatus.SUCCEEDED
    assert personal_account(owner.client).balance == Decimal("20.00")


def test_the_same_form_submitted_twice_pays_once(owner_client, owner, method):
    form = owner_client.get("/payments/add-funds/").content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)
    data = {"method": method.pk, "amount": "30.00", "idempotency_key": key}

    first = owner_client.post("/payments/add-funds/", data)
    second = owner_client.post("/payments/add-funds/", data)

    assert Payment.objects.filter(client=owner.client).count() == 1
    assert Invoice.objects.filter(client=owner.client).count() == 1
    assert "/payments/sandbox/" in first["Location"]
    assert second["Location"] == f"/payments/{Payment.objects.get().pk}/"


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("4.99", "The smallest payment"),
        ("1000.01", "The largest payment"),
        ("-10", "greater than zero"),
        ("0", "greater than zero"),
        ("12,3.4", "in digits 0-9"),
        ("ten", "in digits 0-9"),
        ("10.001", "at most 2 decimal places"),
        ("NaN", "in digits 0-9"),
        ("", "This field is required"),
    ],
)
def test_bad_amounts_get_a_clear_message_and_move_nothing(owner_client, owner, method, amount,
                                                          message):
    response = start_top_up(owner_client, method, amount)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Payment.objects.exists()
    assert not Invoice.objects.exists()


def test_a_method_of_another_provider_is_refused(owner_client, owner, method):
    foreign = PaymentMethodFactory(provider=ProviderFactory())

    response = start_top_up(owner_client, foreign, "50.00")

    assert "Select a valid choice" in response.content.decode()
    assert not Payment.objects.exists()


def test_a_tampered_return_url_is_404_and_changes_nothing(owner_client, owner, method):
    started = start_top_up(owner_client, method, "50.00")
    decide(owner_client, started, "approve")
    payment = Payment.objects.get()

    response = owner_client.get(f"/payments/{payment.pk}/return/forged-token/")

    assert response.status_code == 404
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert personal_account(owner.client).balance == 0


def test_another_clients_payment_is_404(client, owner, method):
    other = ClientUserFactory(owner=True, client__provider=owner.client.provider)
    client.force_login(owner.user)
    started = start_top_up(client, method, "50.00")
    decide(client, started, "approve")
    payment = Payment.objects.get()
    client.force_login(other.user)

    assert client.get(f"/payments/{payment.pk}/").status_code == 404
    assert client.get(f"/payments/{payment.pk}/return/{payment.return_token}/").status_code == 404
    assert client.get(f"/finances/invoices/{payment.invoice_id}/").status_code == 404
    assert client.get(f"/finances/invoices/{payment.invoice_id}/pdf/").status_code == 404


def test_saving_the_card_lists_it_under_payment_methods(owner_client, owner, method):
    started = start_top_up(owner_client, method, "50.00", save_method="on")
    sandbox = decide(owner_client, started, "approve")
    owner_client.get(sandbox.return_url)

    saved = SavedPaymentMethod.objects.get(client=owner.client)
    page = owner_client.get("/payments/methods/").content.decode()
    assert saved.is_default
    assert "Sandbox card •••• 4242" in page
    assert saved.token.startswith("sbx_card_")

    owner_client.post(f"/payments/methods/{saved.pk}/remove/")
    assert not SavedPaymentMethod.objects.get(pk=saved.pk).is_active


def test_client_without_finance_rights_cannot_add_funds(client, owner, method):
    reader = ClientUserFactory(client=owner.client, finances_access="read")
    client.force_login(reader.user)

    assert client.get("/payments/add-funds/").status_code == 403
    assert client.post("/payments/add-funds/", {"method": method.pk, "amount": "10",
                                                "idempotency_key": "x"}).status_code == 403
    assert not Payment.objects.exists()

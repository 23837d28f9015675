"""An unpaid invoice is never a silent debt: the client pays it from its page with a method
of its choice, or cancels it; one nobody pays is cancelled after a day with a note; the
invoice list shows what is due first."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.ledger import personal_account
from billing.models import Invoice, InvoiceStatus
from payments.models import Payment, PaymentStatus, SandboxTransaction
from payments.upkeep import payments_expire_abandoned
from tests.factories.accounts import ClientUserFactory
from tests.factories.payments import PaymentMethodFactory
from tests.payments.helpers import decide, start_top_up

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("books_balance")]


@pytest.fixture
def declined_invoice(owner_client, method) -> Invoice:
    started = start_top_up(owner_client, method, "40.00")
    owner_client.get(decide(owner_client, started, "decline").return_url)
    invoice = Invoice.objects.get()
    assert invoice.status == InvoiceStatus.NEW
    return invoice


def test_the_invoice_list_shows_what_is_due_first(owner_client, declined_invoice):
    page = owner_client.get("/finances/invoices/").content.decode()

    assert page.index("To pay") < page.index(declined_invoice.number) < page.index(
        "All invoices")
    invoice_page = owner_client.get(f"/finances/invoices/{declined_invoice.pk}/").content
    assert b"Cancel the invoice" in invoice_page
    assert f"/payments/invoices/{declined_invoice.pk}/pay/".encode() in invoice_page


def test_a_declined_top_up_is_paid_from_its_invoice_with_another_method(
        owner_client, owner, provider, declined_invoice):
    other = PaymentMethodFactory(provider=provider, name="Other card")
    form = owner_client.get(f"/payments/invoices/{declined_invoice.pk}/pay/").content.decode()
    assert "Pay 40.00 USD" in form

    started = owner_client.post(f"/payments/invoices/{declined_invoice.pk}/pay/", {
        "method": other.pk, "idempotency_key": "retry-1"})
    owner_client.get(decide(owner_client, started, "approve").return_url)

    declined_invoice.refresh_from_db()
    assert declined_invoice.status == InvoiceStatus.PAID
    assert Invoice.objects.count() == 1  # the same invoice, not a second one
    assert personal_account(owner.client).balance == Decimal("40.00")
    assert list(Payment.objects.order_by("pk").values_list("status", flat=True)) == [
        PaymentStatus.FAILED, PaymentStatus.SUCCEEDED]


def test_an_invoice_with_a_payment_under_way_shows_that_payment(owner_client, method):
    started = start_top_up(owner_client, method, "40.00")
    invoice = Invoice.objects.get()

    again = owner_client.post(f"/payments/invoices/{invoice.pk}/pay/", {
        "method": method.pk, "idempotency_key": "second-tab"})

    payment = Payment.objects.get()
    assert again["Location"] == f"/payments/{payment.pk}/"
    page = owner_client.get(again["Location"]).content.decode()
    assert started["Location"] in page  # "Go on with the payment" leads to the same page
    assert SandboxTransaction.objects.count() == 1


def test_the_client_cancels_an_unpaid_invoice_and_its_open_payment(owner_client, method):
    start_top_up(owner_client, method, "40.00")
    invoice = Invoice.objects.get()

    owner_client.post(f"/payments/invoices/{invoice.pk}/cancel/")

    invoice.refresh_from_db()
    assert (invoice.status, invoice.status_note) == (InvoiceStatus.CANCELLED, "Cancelled by you.")
    assert Payment.objects.get().status == PaymentStatus.FAILED
    page = owner_client.get(f"/finances/invoices/{invoice.pk}/").content.decode()
    assert "Cancelled by you." in page
    assert "Cancel the invoice" not in page


def test_a_declined_top_up_nobody_pays_is_cancelled_after_a_day(declined_invoice):
    payments_expire_abandoned(now=timezone.now())
    declined_invoice.refresh_from_db()
    assert declined_invoice.status == InvoiceStatus.NEW  # not yet a day

    payments_expire_abandoned(now=timezone.now() + timedelta(hours=25))

    declined_invoice.refresh_from_db()
    assert declined_invoice.status == InvoiceStatus.CANCELLED
    assert declined_invoice.status_note.startswith("Not paid in time")


def test_a_bank_transfer_waits_two_weeks_for_the_money(owner_client, provider):
    bank = PaymentMethodFactory(provider=provider, gateway="bank_transfer")
    start_top_up(owner_client, bank, "40.00")

    payments_expire_abandoned(now=timezone.now() + timedelta(days=3))
    assert Invoice.objects.get().status == InvoiceStatus.NEW

    payments_expire_abandoned(now=timezone.now() + timedelta(days=15))
    assert Invoice.objects.get().status == InvoiceStatus.CANCELLED
    assert Payment.objects.get().status == PaymentStatus.FAILED


def test_another_clients_invoice_cannot_be_paid_or_cancelled(client, declined_invoice, method):
    stranger = ClientUserFactory(owner=True, client__provider=declined_invoice.client.provider)
    client.force_login(stranger.user)

    pay = client.post(f"/payments/invoices/{declined_invoice.pk}/pay/", {
        "method": method.pk, "idempotency_key": "x"})
    cancel = client.post(f"/payments/invoices/{declined_invoice.pk}/cancel/")

    assert pay.status_code == cancel.status_code == 404
    declined_invoice.refresh_from_db()
    assert declined_invoice.status == InvoiceStatus.NEW
    assert Payment.objects.count() == 1


def test_a_colleague_without_finance_rights_cannot_pay_or_cancel(client, declined_invoice,
                                                                 method):
    colleague = ClientUserFactory(client=declined_invoice.client)  # support rights only
    client.force_login(colleague.user)

    cancel = client.post(f"/payments/invoices/{declined_invoice.pk}/cancel/")

    assert cancel.status_code in (403, 404)
    declined_invoice.refresh_from_db()
    assert declined_invoice.status == InvoiceStatus.NEW

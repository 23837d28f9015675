"""Payments received outside a gateway, recorded by staff (payments.manual and its page)."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client as Browser
from djmoney.money import Money

from accounts.models import ActionLog, Notification
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from billing.invoicing import advance_payment_invoice
from billing.ledger import personal_account, system_account
from billing.models import AccountKind, InvoiceStatus, Transaction, TransactionKind
from payments.manual import manual_payment_record
from payments.models import Gateway, Payment, PaymentStatus
from payments.processing import PaymentError
from tests.factories.accounts import ClientFactory, StaffFactory
from tests.factories.payments import PaymentMethodFactory
from tests.reauth import sign_in_fresh

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("books_balance")]

TODAY = date(2026, 11, 27)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


@pytest.fixture
def client():
    return ClientFactory()


@pytest.fixture
def bank(client):
    return PaymentMethodFactory(provider=client.provider, gateway=Gateway.BANK_TRANSFER,
                                name="Bank wire", currency="USD", minimum=Decimal("0.01"))


@pytest.fixture
def accountant():
    staff = StaffFactory()
    department = department_sync(name="Accounting",
                                 codenames=DEFAULT_DEPARTMENTS["Accounting"])
    staff.groups.add(department)
    return staff


def _record(client, method, amount="120.00", reference="WIRE-1", invoice=None,
            received_on=TODAY, actor=None):
    return manual_payment_record(client=client, method=method, amount=usd(amount),
                                 reference=reference, received_on=received_on,
                                 invoice=invoice, actor=actor or StaffFactory(), today=TODAY)


def test_a_recorded_payment_is_credited_like_any_payment(client, bank):
    payment, created = _record(client, bank, "120.00")

    assert created
    assert (payment.status, payment.amount, payment.gateway_reference) == (
        PaymentStatus.SUCCEEDED, Decimal("120.00"), "WIRE-1")
    assert payment.details["received_on"] == "2026-11-27"
    assert personal_account(client).balance == Decimal("120.00")
    clearing = system_account(AccountKind.GATEWAY_CLEARING, "USD", company=bank.company,
                              key=f"method:{bank.pk}")
    posted = Transaction.objects.get(client=client)
    legs = {entry.account_id: entry.amount for entry in posted.entries.all()}
    assert legs == {personal_account(client).pk: Decimal("120.00"),
                    clearing.pk: Decimal("-120.00")}
    assert (posted.kind, posted.get_kind_display()) == (TransactionKind.TOPUP,
                                                        "Payment received")
    assert payment.invoice.status == InvoiceStatus.PAID  # its advance-payment invoice
    assert Notification.objects.filter(client=client, event="payment_received").count() == 1
    assert ActionLog.objects.filter(action="payment.recorded_by_staff").count() == 1
    assert list(client.payments.all()) == [payment]


def test_it_pays_the_invoice_it_covers(client, bank):
    invoice = advance_payment_invoice(company=bank.company, client=client, amount=usd("50.00"))

    payment, _ = _record(client, bank, "50.00", invoice=invoice)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert payment.invoice_id == invoice.pk
    assert personal_account(client).balance == Decimal("50.00")


def test_the_same_reference_twice_is_one_payment(client, bank):
    first, created = _record(client, bank)
    again, created_again = _record(client, bank)

    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert personal_account(client).balance == Decimal("120.00")
    assert Payment.objects.count() == 1


def test_the_same_reference_for_another_client_is_refused(client, bank):
    _record(client, bank)
    other = ClientFactory(provider=client.provider)

    with pytest.raises(PaymentError, match="already recorded as payment"):
        _record(other, bank)
    assert personal_account(other).balance == 0


@pytest.mark.django_db(transaction=True)
def test_two_people_recording_one_wire_at_once_record_it_once(client, bank):
    staff = [StaffFactory(), StaffFactory()]
    barrier, results = threading.Barrier(2), []

    def record(actor):
        try:
            barrier.wait(timeout=30)
            results.append(_record(client, bank, actor=actor)[1])
        finally:
            connection.close()

    threads = [threading.Thread(target=record, args=(actor,)) for actor in staff]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == [False, True]
    assert Payment.objects.count() == 1
    assert personal_account(client).balance == Decimal("120.00")


@pytest.mark.parametrize(("change", "message"), [
    ({"amount": "0"}, "greater than zero"),
    ({"amount": "-5.00"}, "greater than zero"),
    ({"amount": "1.005"}, "decimal places"),
    ({"currency": "EUR"}, "account is in USD"),
    ({"received_on": TODAY + timedelta(days=1)}, "after today"),
    ({"reference": "R" * 101}, "at most 100 characters"),
    ({"reference": "   "}, "Enter the reference"),
])
def test_bad_input_is_refused_and_writes_nothing(client, bank, change, message):
    arguments = {"amount": "10.00", "currency": "USD", "reference": "WIRE-9",
                 "received_on": TODAY, **change}
    with pytest.raises(PaymentError, match=message):
        manual_payment_record(
            client=client, method=bank,
            amount=Money(Decimal(arguments["amount"]), arguments["currency"]),
            reference=arguments["reference"], received_on=arguments["received_on"],
            invoice=None, actor=StaffFactory(), today=TODAY)
    assert Payment.objects.count() == 0
    assert Transaction.objects.count() == 0


def test_an_invoice_of_another_client_is_refused(client, bank):
    other = ClientFactory(provider=client.provider)
    foreign = advance_payment_invoice(company=bank.company, client=other, amount=usd("10.00"))

    with pytest.raises(PaymentError, match="is not"):
        _record(client, bank, "10.00", invoice=foreign)
    foreign.refresh_from_db()
    assert foreign.status == InvoiceStatus.NEW
    assert Payment.objects.count() == 0


@pytest.mark.parametrize("amount", ["49.99", "50.01"])
def test_an_amount_other_than_the_invoice_total_is_refused(client, bank, amount):
    invoice = advance_payment_invoice(company=bank.company, client=client, amount=usd("50.00"))

    with pytest.raises(PaymentError, match=r"is for 50\.00"):
        _record(client, bank, amount, invoice=invoice)
    assert Payment.objects.count() == 0
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.NEW


def test_a_gateway_method_is_not_a_manual_one(client):
    card = PaymentMethodFactory(provider=client.provider)  # the sandbox gateway

    with pytest.raises(PaymentError, match="not a bank or cash method"):
        _record(client, card)


# The staff page ------------------------------------------------------------------------
def _form(bank, **change):
    return {"amount": "75.00", "currency": "USD", "method": bank.pk, "reference": "WIRE-7",
            "received_on": "2026-11-01", "invoice": "", **change}


def test_the_page_confirms_then_records(client, bank, accountant):
    browser = Browser()
    sign_in_fresh(browser, accountant)
    url = f"/staff/payments/payment/record/{client.pk}/"

    assert browser.get(url).status_code == 200
    preview = browser.post(url, _form(bank))
    page = preview.content.decode()
    assert "Balance after" in page
    assert "75.00" in page
    assert Payment.objects.count() == 0  # the confirmation step writes nothing

    done = browser.post(url, {**_form(bank), "confirm": "1"})
    payment = Payment.objects.get()
    assert done.status_code == 302
    assert done["Location"].endswith(
        f"/payments/payment/{payment.pk}/change/")
    again = browser.post(url, {**_form(bank), "confirm": "1"})  # a second submit
    assert again["Location"] == done["Location"]
    assert Payment.objects.count() == 1
    assert personal_account(client).balance == Decimal("75.00")


def test_the_page_refuses_a_foreign_invoice(client, bank, accountant):
    foreign = advance_payment_invoice(company=bank.company, client=ClientFactory(
        provider=client.provider), amount=usd("75.00"))
    browser = Browser()
    sign_in_fresh(browser, accountant)

    response = browser.post(f"/staff/payments/payment/record/{client.pk}/",
                            {**_form(bank, invoice=foreign.pk), "confirm": "1"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert Payment.objects.count() == 0


def test_the_page_needs_the_permission(client, bank):
    browser = Browser()
    sign_in_fresh(browser, StaffFactory())

    assert browser.get(f"/staff/payments/payment/record/{client.pk}/").status_code == 403
    assert browser.post(f"/staff/payments/payment/record/{client.pk}/",
                        {**_form(bank), "confirm": "1"}).status_code == 403
    assert Payment.objects.count() == 0


def test_recording_needs_a_fresh_reauthentication(client, bank, accountant):
    browser = Browser()
    browser.force_login(accountant)

    response = browser.post(f"/staff/payments/payment/record/{client.pk}/",
                            {**_form(bank), "confirm": "1"})
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]
    assert Payment.objects.count() == 0


"""Webhooks: verified or 400, stored by event id, duplicates and disorder harmless."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client as HttpClient
from djmoney.money import Money

from billing.audit import audit
from billing.ledger import personal_account
from payments.gateways.sandbox import event_body
from payments.models import Payment, PaymentStatus, SandboxTransaction, WebhookEvent
from payments.processing import payment_create, payment_start
from tests.factories.accounts import ClientFactory
from tests.factories.payments import PaymentMethodFactory
from tests.notifications import notifications_deliver
from tests.payments.helpers import deliver


def _pending_payment(amount="40.00"):
    client = ClientFactory()
    method = PaymentMethodFactory(provider=client.provider)
    payment, _ = payment_create(client=client, method=method, amount=Money(amount, "USD"),
                                idempotency_key="k", user=None)
    payment_start(payment, return_url="http://testserver/r/", cancel_url="http://testserver/c/")
    sandbox = SandboxTransaction.objects.get(
        reference=Payment.objects.get(pk=payment.pk).gateway_reference)
    return client, payment, sandbox


def _approve(sandbox):
    sandbox.status = SandboxTransaction.Status.SUCCEEDED
    sandbox.save()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"secret": "not-the-secret"}, "does not match"),
        ({"timestamp": int(time.time()) - 3600}, "too old"),
        ({"body": b"not json"}, "not a sandbox event"),
        ({"send": b'{"id": "evt_forged", "type": "payment.succeeded", "data": {}}'},
         "does not match"),
    ],
)
def test_a_webhook_that_is_not_authentic_is_400_and_changes_nothing(client, kwargs, fragment):
    customer, payment, sandbox = _pending_payment()
    _approve(sandbox)

    response = deliver(client, sandbox, "payment.succeeded", **kwargs)

    assert response.status_code == 400
    assert fragment in response.content.decode()
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.PENDING
    assert personal_account(customer).balance == 0
    assert not WebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_webhook_without_signature_is_400(client):
    _, _payment, sandbox = _pending_payment()

    response = client.post(f"/payments/webhooks/{sandbox.method_id}/",
                           event_body(sandbox, "payment.succeeded"),
                           content_type="application/json")

    assert response.status_code == 400


@pytest.mark.django_db
def test_a_replayed_event_changes_nothing(client):
    customer, _payment, sandbox = _pending_payment()
    _approve(sandbox)
    body = event_body(sandbox, "payment.succeeded")

    first = deliver(client, sandbox, "payment.succeeded", body=body)
    replay = deliver(client, sandbox, "payment.succeeded", body=body)

    assert (first.status_code, replay.status_code) == (200, 200)
    assert "duplicate" in replay.content.decode()
    assert personal_account(customer).balance == Decimal("40.00")
    assert WebhookEvent.objects.count() == 1
    assert audit() == []


@pytest.mark.django_db
def test_events_out_of_order(client):
    customer, payment, sandbox = _pending_payment()
    _approve(sandbox)

    deliver(client, sandbox, "payment.succeeded")
    deliver(client, sandbox, "payment.pending")  # late: ignored
    deliver(client, sandbox, "payment.failed")  # late: ignored

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert personal_account(customer).balance == Decimal("40.00")
    assert payment.events.filter(note__startswith="ignored").count() == 2


@pytest.mark.django_db
def test_a_failed_payment_retried_at_the_gateway_still_credits_once(client):
    customer, payment, sandbox = _pending_payment()

    deliver(client, sandbox, "payment.failed")
    _approve(sandbox)
    deliver(client, sandbox, "payment.succeeded")

    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
    assert personal_account(customer).balance == Decimal("40.00")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_fifty_deliveries_of_the_same_event_at_once_credit_once():
    customer, payment, sandbox = _pending_payment()
    _approve(sandbox)
    body = event_body(sandbox, "payment.succeeded")
    barrier, codes = threading.Barrier(50), []

    def post():
        try:
            barrier.wait()
            codes.append(deliver(HttpClient(), sandbox, "payment.succeeded", body=body)
                         .status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert codes == [200] * 50
    assert WebhookEvent.objects.count() == 1
    assert personal_account(customer).balance == Decimal("40.00")
    assert Payment.objects.get(pk=payment.pk).credit_transaction is not None
    assert audit() == []


@pytest.mark.django_db
def test_an_abandoned_checkout_fails_after_a_day_and_its_invoice_is_cancelled():
    from datetime import timedelta

    from django.utils import timezone

    from billing.models import InvoiceStatus
    from payments.upkeep import payments_expire_abandoned

    customer, payment, _ = _pending_payment()
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(hours=25))
    _, fresh, _ = _pending_payment()

    assert payments_expire_abandoned(now=timezone.now()) == 1

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.invoice.status == InvoiceStatus.CANCELLED
    assert "Not paid in time" in payment.invoice.status_note
    assert Payment.objects.get(pk=fresh.pk).status == PaymentStatus.PENDING
    assert personal_account(customer).balance == 0


@pytest.mark.django_db
def test_the_client_hears_of_a_payment_once(client, mailoutbox,
                                            django_capture_on_commit_callbacks):
    customer, _payment, sandbox = _pending_payment()
    _approve(sandbox)

    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, sandbox, "payment.succeeded")
        deliver(client, sandbox, "payment.succeeded")  # a second event of the same success
    notifications_deliver()

    assert [m.subject for m in mailoutbox] == ["Payment received: 40.00 USD"]
    assert mailoutbox[0].to == [customer.email]
    assert "Your balance is now 40.00 USD" in mailoutbox[0].body

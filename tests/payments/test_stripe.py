"""The Stripe gateway, offline: the real `stripe` library against recorded API responses,
and webhooks signed with a test secret."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
import stripe
from djmoney.money import Money

from billing.ledger import personal_account
from payments.gateways.stripe import StripeGateway
from payments.models import Gateway, Payment, PaymentStatus, SavedPaymentMethod, WebhookEvent
from payments.processing import charge_saved_method, payment_create, payment_refresh, payment_start
from payments.refunds import refund_payment
from tests.factories.accounts import ClientFactory, StaffFactory
from tests.factories.payments import PaymentMethodFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("books_balance")]

RECORDED = Path(__file__).parent / "stripe_recorded"
WEBHOOK_SECRET = "whsec_test_secret_for_offline_tests"


class RecordedStripe(stripe.HTTPClient):
    """Answers Stripe API calls from recorded responses and remembers the requests."""

    name = "recorded"

    def __init__(self, routes):
        super().__init__()
        self.routes = routes
        self.requests = []

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        path = url.split("api.stripe.com", 1)[1].split("?", 1)[0]
        self.requests.append((method.upper(), path, dict(headers or {}), post_data or ""))
        name, status = self.routes[(method.upper(), path)]
        return (RECORDED / name).read_text(), status, {"request-id": "req_recorded"}

    def close(self):
        pass


@pytest.fixture
def stripe_api(monkeypatch):
    def install(routes):
        client = RecordedStripe(routes)
        monkeypatch.setattr(StripeGateway, "http_client", client)
        return client

    return install


@pytest.fixture
def card_method():
    client = ClientFactory()
    method = PaymentMethodFactory(provider=client.provider, gateway=Gateway.STRIPE,
                                  secret_key="sk_test_offline", webhook_secret=WEBHOOK_SECRET)
    return client, method


SESSION = "/v1/checkout/sessions"
SESSION_ID = "cs_test_a1B2c3D4e5F6g7H8i9J0"


def test_checkout_redirects_to_stripe_and_the_return_credits_and_saves_the_card(
        stripe_api, card_method):
    client, method = card_method
    api = stripe_api({("POST", SESSION): ("checkout_session_create.json", 200),
                      ("GET", f"{SESSION}/{SESSION_ID}"): ("checkout_session_retrieve_paid.json",
                                                           200)})
    payment, _ = payment_create(client=client, method=method, amount=Money("50.00", "USD"),
                                idempotency_key="k", user=None, save_method=True)

    result = payment_start(payment, return_url="http://t/return/", cancel_url="http://t/c/")
    payment = payment_refresh(Payment.objects.get(pk=payment.pk), source="return")

    assert result.redirect_url.startswith("https://checkout.stripe.com/c/pay/")
    _, _, headers, body = api.requests[0]
    assert headers["Idempotency-Key"] == f"payment-{payment.pk}-checkout"
    assert "[unit_amount]=5000" in body
    assert "[setup_future_usage]=off_session" in body
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.details["payment_intent"] == "pi_3QkTSt2eZvKYlo2C0u5w7Qx1"
    assert personal_account(client).balance == Decimal("50.00")
    saved = SavedPaymentMethod.objects.get(client=client)
    assert (saved.label, saved.token, saved.customer_reference, saved.expires) == (
        "Visa •••• 4242", "pm_1QkTSt2eZvKYlo2CqQ8a9B3c", "cus_RkTSt0dWzXyZ12", "12/2030")


def _signed(payload: dict, secret=WEBHOOK_SECRET):
    body = json.dumps(payload)
    return body, stripe.WebhookSignature.generate_signature_header(secret=secret, payload=body)


def _completed_event(payment):
    return {"id": "evt_1QkTSt2eZvKYlo2CwEbHk001", "object": "event", "type":
            "checkout.session.completed", "api_version": "2024-06-20", "created": 1_795_000_000,
            "livemode": False, "data": {"object": {
                "id": SESSION_ID, "object": "checkout.session", "payment_status": "paid",
                "status": "complete", "payment_intent": "pi_3QkTSt2eZvKYlo2C0u5w7Qx1",
                "client_reference_id": str(payment.pk),
                "metadata": {"payment_id": str(payment.pk)}}}}


def test_signed_webhook_credits_once_and_a_forged_one_is_400(client, stripe_api, card_method):
    customer, method = card_method
    stripe_api({("POST", SESSION): ("checkout_session_create.json", 200)})
    payment, _ = payment_create(client=customer, method=method, amount=Money("50.00", "USD"),
                                idempotency_key="k", user=None)
    payment_start(payment, return_url="http://t/r/", cancel_url="http://t/c/")
    url = f"/payments/webhooks/{method.pk}/"

    forged_body, forged_signature = _signed(_completed_event(payment), secret="whsec_wrong")
    forged = client.post(url, forged_body, content_type="application/json",
                         HTTP_STRIPE_SIGNATURE=forged_signature)
    body, signature = _signed(_completed_event(payment))
    first = client.post(url, body, content_type="application/json",
                        HTTP_STRIPE_SIGNATURE=signature)
    replay = client.post(url, body, content_type="application/json",
                         HTTP_STRIPE_SIGNATURE=signature)

    assert forged.status_code == 400
    assert (first.status_code, replay.status_code) == (200, 200)
    assert "duplicate" in replay.content.decode()
    assert WebhookEvent.objects.count() == 1
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED
    assert personal_account(customer).balance == Decimal("50.00")


def test_saved_card_charged_off_session_and_a_decline(stripe_api, card_method):
    client, method = card_method
    saved = SavedPaymentMethod.objects.create(
        client=client, method=method, token="pm_1QkTSt2eZvKYlo2CqQ8a9B3c",
        customer_reference="cus_RkTSt0dWzXyZ12", label="Visa •••• 4242")
    api = stripe_api({("POST", "/v1/payment_intents"): ("payment_intent_create_succeeded.json",
                                                        200)})

    paid = charge_saved_method(saved=saved, amount=Money("25.00", "USD"), idempotency_key="a")
    stripe_api({("POST", "/v1/payment_intents"): ("payment_intent_create_declined.json", 402)})
    declined = charge_saved_method(saved=saved, amount=Money("25.00", "USD"),
                                   idempotency_key="b")

    assert paid.status == PaymentStatus.SUCCEEDED
    assert "off_session=true" in api.requests[0][3]
    assert declined.status == PaymentStatus.FAILED
    assert declined.failure_reason == "Your card has insufficient funds."
    assert personal_account(client).balance == Decimal("25.00")


def test_refund_through_stripe(stripe_api, card_method):
    client, method = card_method
    api = stripe_api({("POST", SESSION): ("checkout_session_create.json", 200),
                      ("GET", f"{SESSION}/{SESSION_ID}"): ("checkout_session_retrieve_paid.json",
                                                           200),
                      ("POST", "/v1/refunds"): ("refund_create.json", 200)})
    payment, _ = payment_create(client=client, method=method, amount=Money("50.00", "USD"),
                                idempotency_key="k", user=None)
    payment_start(payment, return_url="http://t/r/", cancel_url="http://t/c/")
    payment = payment_refresh(Payment.objects.get(pk=payment.pk))

    refund = refund_payment(payment=payment, amount=Money("20.00", "USD"), reason="Goodwill",
                            actor=StaffFactory(), idempotency_key="r")

    _, _, headers, body = api.requests[-1]
    assert headers["Idempotency-Key"] == f"refund-{refund.pk}"
    assert "payment_intent=pi_3QkTSt2eZvKYlo2C0u5w7Qx1" in body
    assert "amount=2000" in body
    assert refund.gateway_reference == "re_3QkTSt2eZvKYlo2C0n9Z8y7X"
    assert personal_account(client).balance == Decimal("30.00")


def test_a_timeout_leaves_the_payment_unknown_until_the_gateway_is_asked_again(
        stripe_api, card_method):
    client, method = card_method
    saved = SavedPaymentMethod.objects.create(
        client=client, method=method, token="pm_1QkTSt2eZvKYlo2CqQ8a9B3c",
        customer_reference="cus_RkTSt0dWzXyZ12", label="Visa •••• 4242")

    class Unreachable(RecordedStripe):
        def request(self, *args, **kwargs):
            raise stripe.APIConnectionError("timed out")

    StripeGateway.http_client = Unreachable({})
    try:
        payment = charge_saved_method(saved=saved, amount=Money("25.00", "USD"),
                                      idempotency_key="t")
    finally:
        StripeGateway.http_client = None
    assert payment.status == PaymentStatus.UNKNOWN
    assert personal_account(client).balance == 0

    api = stripe_api({("POST", "/v1/payment_intents"): ("payment_intent_create_succeeded.json",
                                                        200)})
    from payments.processing import payment_resolve

    payment = payment_resolve(payment)

    assert payment.status == PaymentStatus.SUCCEEDED
    assert api.requests[0][2]["Idempotency-Key"] == f"payment-{payment.pk}-offsession"
    assert personal_account(client).balance == Decimal("25.00")


def test_a_refund_stripe_confirms_later_is_held_then_settled_by_asking_again(
        stripe_api, card_method):
    from payments.models import Refund
    from payments.refunds import refund_ask

    client, method = card_method
    api = stripe_api({("POST", SESSION): ("checkout_session_create.json", 200),
                      ("GET", f"{SESSION}/{SESSION_ID}"): ("checkout_session_retrieve_paid.json",
                                                           200),
                      ("POST", "/v1/refunds"): ("refund_create_pending.json", 200),
                      ("GET", "/v1/refunds/re_3QkTSt2eZvKYlo2C1pEnD1nG"): (
                          "refund_retrieve_succeeded.json", 200)})
    payment, _ = payment_create(client=client, method=method, amount=Money("50.00", "USD"),
                                idempotency_key="k", user=None)
    payment_start(payment, return_url="http://t/r/", cancel_url="http://t/c/")
    payment = payment_refresh(Payment.objects.get(pk=payment.pk))

    refund = refund_payment(payment=payment, amount=Money("20.00", "USD"), reason="Goodwill",
                            actor=StaffFactory(), idempotency_key="r")

    assert refund.status == Refund.Status.PENDING
    account = personal_account(client)
    assert (account.balance, account.held) == (Decimal("50.00"), Decimal("20.00"))

    refund = refund_ask(refund, actor=None)

    assert api.requests[-1][:2] == ("GET", "/v1/refunds/re_3QkTSt2eZvKYlo2C1pEnD1nG")
    assert refund.status == Refund.Status.SUCCEEDED
    account.refresh_from_db()
    assert (account.balance, account.held) == (Decimal("30.00"), Decimal("0"))


def test_a_refund_stripe_did_not_answer_is_asked_again_with_the_same_key(
        stripe_api, card_method):
    from payments.models import Refund
    from payments.refunds import refund_ask

    client, method = card_method
    stripe_api({("POST", SESSION): ("checkout_session_create.json", 200),
                ("GET", f"{SESSION}/{SESSION_ID}"): ("checkout_session_retrieve_paid.json", 200)})
    payment, _ = payment_create(client=client, method=method, amount=Money("50.00", "USD"),
                                idempotency_key="k", user=None)
    payment_start(payment, return_url="http://t/r/", cancel_url="http://t/c/")
    payment = payment_refresh(Payment.objects.get(pk=payment.pk))

    class Unreachable(RecordedStripe):
        def request(self, *args, **kwargs):
            raise stripe.APIConnectionError("timed out")

    StripeGateway.http_client = Unreachable({})
    try:
        refund = refund_payment(payment=payment, amount=Money("20.00", "USD"),
                                reason="Goodwill", actor=StaffFactory(), idempotency_key="r")
    finally:
        StripeGateway.http_client = None
    assert (refund.status, refund.gateway_reference) == (Refund.Status.PENDING, "")
    assert personal_account(client).balance == Decimal("50.00")

    api = stripe_api({("POST", "/v1/refunds"): ("refund_create.json", 200)})
    refund = refund_ask(refund, actor=None)

    assert api.requests[0][2]["Idempotency-Key"] == f"refund-{refund.pk}"
    assert refund.status == Refund.Status.SUCCEEDED
    assert personal_account(client).balance == Decimal("30.00")

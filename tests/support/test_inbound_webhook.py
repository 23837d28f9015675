"""E-mail in by an ESP's webhook: Mailgun posts a raw MIME message (its "forward" route to
anymail's inbound_mime URL) and it comes in through the one way in, once, and only when
both the basic-auth secret and Mailgun's signature are right."""

import base64
import hashlib
import hmac
from pathlib import Path

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, example, given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from accounts.models import Access
from support.models import InboundEmail, InboundOutcome, Ticket
from tests.factories.accounts import ClientFactory, ClientUserFactory, UserFactory
from tests.factories.support import SupportDepartmentFactory

pytestmark = pytest.mark.django_db

MAIL = Path(__file__).parent / "mail"
BASIC = "mailgun:Xq3-basic-secret"
SIGNING_KEY = "key-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
URL = "/anymail/mailgun/inbound_mime/"


@pytest.fixture(autouse=True)
def _configured(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.ANYMAIL = {"WEBHOOK_SECRET": BASIC, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


@pytest.fixture
def world():
    technical = SupportDepartmentFactory(email="support@openbill.test")
    sales = SupportDepartmentFactory(name="Sales", slug="sales", email="sales@openbill.test")
    ClientUserFactory(client=ClientFactory(), user=UserFactory(email="alice@client.example"),
                      owner=True, support_access=Access.MANAGE)
    return {"technical": technical, "sales": sales}


def _signed(raw: str, *, key: str = SIGNING_KEY, token: str = "a" * 50,
            recipient: str = "support@openbill.test") -> dict:
    timestamp = "1772445600"
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": signature,
            "recipient": recipient, "sender": "alice@client.example", "body-mime": raw}


def _post(client, data: dict, *, auth: str = BASIC):
    header = "Basic " + base64.b64encode(auth.encode()).decode()
    return client.post(URL, data, HTTP_AUTHORIZATION=header)


def _message(name: str = "gmail_new_ticket.eml") -> str:
    return (MAIL / name).read_text("utf-8").replace("\r\n", "\n").replace("\n", "\r\n")


def test_the_address_is_the_one_anymail_documents():
    assert reverse("mailgun_inbound_webhook") == URL


def test_a_posted_message_comes_in_once_however_often_it_is_posted(client, world):
    raw = _message()

    first = _post(client, _signed(raw))
    again = _post(client, _signed(raw, token="b" * 50))  # Mailgun retrying

    assert (first.status_code, again.status_code) == (200, 200)
    stored = InboundEmail.objects.get()
    assert (stored.route, stored.outcome) == ("webhook", InboundOutcome.TICKET_CREATED)
    assert bytes(stored.raw) == raw.encode()
    assert stored.ticket.subject == "Cannot reach the control panel"
    assert Ticket.objects.count() == 1


def test_the_recipient_names_the_department(client, world):
    _post(client, _signed(_message(), recipient="SALES@openbill.test"))
    assert InboundEmail.objects.get().ticket.department == world["sales"]


def test_an_unknown_sender_waits_for_staff(client, world):
    _post(client, _signed(_message("unknown_sender_new.eml")))
    assert InboundEmail.objects.get().outcome == InboundOutcome.UNKNOWN_SENDER


@pytest.mark.parametrize(("auth", "key"), [
    ("mailgun:wrong", SIGNING_KEY),     # the basic-auth secret of the URL
    (BASIC, "key-not-mailguns"),        # the signature
])
def test_a_post_without_both_secrets_is_refused_and_stores_nothing(client, world, auth, key):
    response = _post(client, _signed(_message(), key=key), auth=auth)
    assert response.status_code == 400
    assert not InboundEmail.objects.exists()


def test_the_address_does_not_exist_until_its_secrets_are_set(client, world, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "", "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    assert _post(client, _signed(_message())).status_code == 404
    assert not InboundEmail.objects.exists()


@settings_hypothesis(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.text(max_size=1500))
@example(junk="\x00")  # mail may hold NUL bytes: stored as it came, never refused
def test_a_hostile_body_is_stored_and_never_answers_500(client, world, junk):
    response = _post(client, _signed("From: alice@client.example\r\nSubject: x\r\n"
                                     "Content-Type: multipart/mixed; boundary=z\r\n\r\n"
                                     + junk))
    assert response.status_code == 200

"""Secrets at rest: gateway keys and webhook secrets are encrypted in the database with a
key from the environment, never sent back to a browser, and still work for the gateway."""

import hashlib
import hmac
import importlib
import io
import json
import time

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from core.encryption import derived_key
from history.models import PaymentMethodEvent
from history.selectors import object_changes
from payments.gateways import gateway_for
from payments.gateways.stripe import StripeGateway
from payments.models import Gateway, Payment, PaymentMethod
from tests.factories.accounts import AdminFactory
from tests.factories.payments import PaymentMethodFactory
from tests.payments.test_stripe import RecordedStripe
from tests.reauth import sign_in_fresh

pytestmark = pytest.mark.django_db

SECRET = "sk_live_51HxQwErTyUiOpAsDfGhJkL"
WEBHOOK = "whsec_9f8e7d6c5b4a39281706"


def _raw(method, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column}, settings::text FROM payments_paymentmethod "
                       "WHERE id = %s", [method.pk])
        return cursor.fetchone()


def test_secrets_are_stored_encrypted_and_read_back_in_plain():
    method = PaymentMethodFactory(gateway=Gateway.STRIPE, secret_key=SECRET,
                                  webhook_secret=WEBHOOK)

    for column, plain in (("secret_key", SECRET), ("webhook_secret", WEBHOOK)):
        stored, settings_text = _raw(method, column)
        assert plain not in stored
        assert plain not in settings_text
        assert Fernet(derived_key(_secret_key())).decrypt(stored.encode()).decode() == plain
    fresh = PaymentMethod.objects.get(pk=method.pk)
    assert (fresh.secret_key, fresh.webhook_secret) == (SECRET, WEBHOOK)


def _secret_key():
    from django.conf import settings
    return settings.SECRET_KEY


def test_an_explicit_key_encrypts_and_an_older_one_still_decrypts():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        method = PaymentMethodFactory(secret_key=SECRET)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):  # rotated: new first
        assert PaymentMethod.objects.get(pk=method.pk).secret_key == SECRET
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]), \
            pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        PaymentMethod.objects.get(pk=method.pk)


def test_the_stripe_gateway_uses_the_decrypted_key(monkeypatch):
    method = PaymentMethodFactory(gateway=Gateway.STRIPE, secret_key=SECRET,
                                  webhook_secret=WEBHOOK)
    session = "cs_test_a1B2c3D4e5F6g7H8i9J0"
    api = RecordedStripe({("GET", f"/v1/checkout/sessions/{session}"):
                          ("checkout_session_retrieve_paid.json", 200)})
    monkeypatch.setattr(StripeGateway, "http_client", api)
    gateway = gateway_for(PaymentMethod.objects.get(pk=method.pk))

    gateway.query_status(Payment(method=method, gateway_reference=session))

    assert api.requests[0][2]["Authorization"] == f"Bearer {SECRET}"
    body = json.dumps({"id": "evt_1", "object": "event", "type": "checkout.session.completed",
                       "data": {"object": {"id": session, "object": "checkout.session",
                                           "payment_status": "paid",
                                           "metadata": {"payment_id": "1"}}}}).encode()
    stamp = int(time.time())
    signature = hmac.new(WEBHOOK.encode(), f"{stamp}.".encode() + body,
                         hashlib.sha256).hexdigest()
    event = gateway.parse_webhook(body, {"Stripe-Signature": f"t={stamp},v1={signature}"})
    assert event.event_id == "evt_1"


# The staff form -------------------------------------------------------------------------
def _form_data(method, **changes):
    data = {"company": method.company_id, "name": method.name, "gateway": method.gateway,
            "currency": method.currency, "minimum": "5.00", "maximum": "1000.00",
            "fee_percent": "0", "fee_fixed": "0", "for_topup": "on", "position": "0",
            "settings": "{}", "replace_secret_key": "", "replace_webhook_secret": ""}
    data.update(changes)
    return data


@pytest.fixture
def staff_client(client):
    sign_in_fresh(client, AdminFactory())  # payment methods change after re-authenticating
    return client


def _url(method):
    return f"/staff/payments/paymentmethod/{method.pk}/change/"


def test_the_form_says_set_and_never_shows_the_secret(staff_client):
    method = PaymentMethodFactory(gateway=Gateway.STRIPE, secret_key=SECRET)

    page = staff_client.get(_url(method)).content.decode()
    invalid = staff_client.post(_url(method), _form_data(
        method, minimum="not a number", replace_webhook_secret=WEBHOOK)).content.decode()

    assert "Currently set" in page
    assert "Not set" in page
    for html in (page, invalid):
        assert SECRET not in html
        assert WEBHOOK not in html
        assert _raw(method, "secret_key")[0] not in html  # nor its encrypted form


@pytest.mark.parametrize(("changes", "secret_key", "webhook_secret"), [
    ({}, SECRET, ""),                                          # empty keeps
    ({"replace_secret_key": "sk_live_new"}, "sk_live_new", ""),  # replace
    ({"replace_webhook_secret": WEBHOOK}, SECRET, WEBHOOK),    # set the other
    ({"remove_secret_key": "on"}, "", ""),                     # remove
], ids=["empty-keeps", "replace", "set-other", "remove"])
def test_the_form_keeps_replaces_or_removes(staff_client, changes, secret_key,
                                           webhook_secret):
    method = PaymentMethodFactory(gateway=Gateway.STRIPE, secret_key=SECRET)

    response = staff_client.post(_url(method), _form_data(method, **changes))

    assert response.status_code == 302
    method.refresh_from_db()
    assert (method.secret_key, method.webhook_secret) == (secret_key, webhook_secret)


@pytest.mark.parametrize("options", ['{"secret_key": "sk_live_x"}',
                                     '{"webhook_secret": "whsec_x"}'])
def test_secrets_are_refused_in_the_plain_options(staff_client, options):
    method = PaymentMethodFactory()

    response = staff_client.post(_url(method), _form_data(method, settings=options))

    assert response.status_code == 200
    assert "Secrets go in their own fields" in response.content.decode()
    method.refresh_from_db()
    assert method.settings == {}


def test_secrets_never_enter_the_history_of_changes(staff_client):
    method = PaymentMethodFactory(gateway=Gateway.STRIPE)
    staff_client.post(_url(method), _form_data(method, replace_secret_key=SECRET,
                                               replace_webhook_secret=WEBHOOK))

    assert PaymentMethodEvent.objects.filter(pgh_obj_id=method.pk).exists()
    assert not {"secret_key", "webhook_secret"} & {f.name for f in PaymentMethodEvent._meta.fields}
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(e)::text FROM history_paymentmethodevent e")
        assert not any(SECRET in row or WEBHOOK in row for (row,) in cursor.fetchall())


def test_the_migration_moves_plain_secrets_from_the_options_into_encrypted_fields():
    migration = importlib.import_module("payments.migrations.0003_payment_method_secrets")
    method = PaymentMethodFactory(settings={"secret_key": SECRET, "webhook_secret": WEBHOOK,
                                            "refuse_refunds": True})

    migration.secrets_to_encrypted_fields(apps, None)

    stored, settings_text = _raw(method, "secret_key")
    assert SECRET not in stored
    assert SECRET not in settings_text
    assert WEBHOOK not in settings_text
    method.refresh_from_db()
    assert (method.secret_key, method.webhook_secret) == (SECRET, WEBHOOK)
    assert method.settings == {"refuse_refunds": True}


def test_the_history_says_who_changed_a_secret_and_when_without_it(staff_client):
    method = PaymentMethodFactory(gateway=Gateway.STRIPE, secret_key=SECRET)
    changed_at = PaymentMethod.objects.get(pk=method.pk).secrets_changed_at

    staff_client.post(_url(method), _form_data(method, name="Renamed"))  # secrets kept
    kept = PaymentMethod.objects.get(pk=method.pk)
    staff_client.post(_url(method), _form_data(method, name="Renamed",
                                               replace_secret_key="sk_live_rotated"))
    replaced = PaymentMethod.objects.get(pk=method.pk)

    assert changed_at is not None
    assert (kept.name, kept.secrets_changed_at) == ("Renamed", changed_at)
    assert replaced.secrets_changed_at > changed_at
    latest = object_changes(replaced)[0]
    assert [f.label for f in latest.fields] == ["secrets last changed"]
    assert latest.url.endswith(_url(method))



def test_rotating_the_key_re_encrypts_every_secret_under_the_new_one():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        method = PaymentMethodFactory(secret_key=SECRET, webhook_secret=WEBHOOK)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        call_command("rotate_secrets", stdout=io.StringIO())
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):  # the old key gone
        fresh = PaymentMethod.objects.get(pk=method.pk)

    assert (fresh.secret_key, fresh.webhook_secret) == (SECRET, WEBHOOK)


def test_second_factor_secrets_are_stored_encrypted(db):
    """A TOTP key is a secret at rest like a gateway's: the row holds no plaintext, and the
    code computed from it still signs in (tests.signin reads it back through allauth)."""
    from allauth.mfa.models import Authenticator
    from django.db import connection

    from tests.factories.accounts import StaffFactory
    from tests.signin import totp_secret

    staff = StaffFactory()
    secret = totp_secret(staff)
    with connection.cursor() as cursor:
        cursor.execute("SELECT data::text FROM mfa_authenticator WHERE user_id = %s",
                       [staff.pk])
        stored = cursor.fetchone()[0]
    assert len(secret) >= 16
    assert secret not in stored
    assert Authenticator.objects.filter(user=staff).exists()

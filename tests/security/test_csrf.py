"""Every URL of the site, read from the URLconf, refuses a POST without a CSRF token with
403 and changes nothing; the few that must take a POST from elsewhere are listed here
with why, and prove the sender otherwise."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from payments.models import WebhookEvent
from tests.factories.accounts import AdminFactory
from tests.security.urlwalk import Route, Unmapped, client_kwargs, client_rows, routes, row_counts

pytestmark = pytest.mark.django_db

CSRF_EXEMPT = {
    "payments:webhook": "a payment gateway posts it from its own servers, with no session "
                        "and no token: the body's signature (HMAC with the method's webhook "
                        "secret) is verified instead",
    "mailgun_inbound_webhook": "an ESP posts inbound e-mail from its own servers, with no "
                               "session and no token: basic auth and Mailgun's signature "
                               "are verified instead (404 until both are set)",
}
DATA = {"name": "Forged", "email": "forged@example.com", "amount": "10", "code": "PROMO",
        "outcome": "approve", "period": "month", "pay_with": "balance"}


def _url(route: Route, world) -> str:
    try:
        return route.fill(client_kwargs(route, world, plan=world.service.plan))
    except Unmapped:  # staff and allauth pages: the token is checked before any lookup
        return route.fill({k: "1" for k in route.kwargs})


@pytest.fixture
def forger(world_a):
    """A browser that keeps Django's CSRF check on (the test client turns it off)."""
    return HttpClient(enforce_csrf_checks=True)


def _refusals(http, world, selected) -> list[str]:
    wrong = []
    for route in selected:
        url = _url(route, world)
        response = http.post(url, DATA)
        if response.status_code != 403:
            wrong.append(f"{route.name} {url}: {response.status_code}")
    return wrong


def test_a_client_s_posts_without_a_token_are_refused(forger, world_a):
    forger.force_login(world_a.owner.user)
    selected = [r for r in routes() if not r.is_staff and r.name not in CSRF_EXEMPT]
    before, counts = client_rows(world_a.client), row_counts()

    wrong = _refusals(forger, world_a, selected)

    assert wrong == []
    assert client_rows(world_a.client) == before
    assert row_counts() == counts


def test_staff_posts_without_a_token_are_refused(forger, world_a):
    forger.force_login(AdminFactory())
    selected = [r for r in routes() if r.is_staff and r.name not in CSRF_EXEMPT]
    counts = row_counts()

    wrong = _refusals(forger, world_a, selected)

    assert wrong == []
    assert row_counts() == counts


def test_signed_out_posts_without_a_token_are_refused(forger, world_a):
    """Sign-in, sign-up and password reset too: no login CSRF."""
    selected = [r for r in routes() if r.is_auth]

    assert _refusals(forger, world_a, selected) == []


def test_a_webhook_without_a_valid_signature_is_refused_and_stored_nowhere(forger,
                                                                            sandbox_method):
    response = forger.post(f"/payments/webhooks/{sandbox_method.pk}/",
                           data=b'{"id": "evt_1", "type": "payment.succeeded"}',
                           content_type="application/json",
                           HTTP_SANDBOX_SIGNATURE="t=1,v1=forged")

    assert 400 <= response.status_code < 500
    assert not WebhookEvent.objects.exists()

"""After cancelling a payment the client goes back only to a path of this site; any
other ``next`` (another site, a bare word) falls back to the payment's page."""

import pytest
from djmoney.money import Money

from payments.processing import payment_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("target", ["3028665449184", "payments:credits", "//evil.example/",
                                    "https://evil.example/", "javascript:alert(1)"])
def test_cancelling_a_payment_goes_back_only_to_a_path_of_this_site(owner_client, owner,
                                                                   sandbox_method, target):
    payment, _ = payment_create(client=owner.client, method=sandbox_method,
                                amount=Money("25.00", "USD"), idempotency_key="k",
                                user=owner.user)

    response = owner_client.post(f"/payments/{payment.pk}/cancel/", {"next": target})

    assert response.status_code == 302
    assert response["Location"] == f"/payments/{payment.pk}/"

"""The client's promised payment: taken from the Finances menu, within the provider's
limits, once at a time; it resumes services stopped for non-payment."""

from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Access
from billing.ledger import personal_account
from billing.models import PromisedPayment
from services.models import ServiceStatus, SuspendReason
from tests.factories.accounts import ClientUserFactory
from tests.factories.billing import top_up
from tests.factories.services import DailyPlanFactory, ServiceFactory

pytestmark = pytest.mark.django_db
URL = "/finances/promised-payment/"


@pytest.fixture
def offering(provider):
    provider.promised_payment_max = Decimal("20.00")
    provider.promised_payment_days = 5
    provider.promised_payments_per_month = 2
    provider.save()
    return provider


def test_the_page_states_the_limits(owner_client, offering):
    html = owner_client.get(URL).content.decode()

    assert "At most 20.00 USD, for 5 days" in html
    assert "0 of 2 taken" in html


def test_a_promise_credits_the_balance_and_resumes_what_debt_stopped(
        owner_client, owner, offering, django_capture_on_commit_callbacks):
    plan = DailyPlanFactory(provider=offering)
    stopped = ServiceFactory(client=owner.client, plan=plan, billing_period="day",
                             status=ServiceStatus.SUSPENDED,
                             suspend_reason=SuspendReason.NONPAYMENT)
    top_up(owner.client, "1.00")

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(URL + "take/", {"amount": "15.00"}, follow=True)

    assert "15.00 USD is on your balance until" in response.content.decode()
    assert personal_account(owner.client).balance == Decimal("16.00")
    promise = PromisedPayment.objects.get(client=owner.client)
    assert (promise.due_on - timezone.localdate()).days == 5
    stopped.refresh_from_db()
    assert stopped.status != ServiceStatus.SUSPENDED


@pytest.mark.parametrize(("amount", "message"), [
    ("abc", "Enter the amount in digits 0-9"),
    ("0", "The amount must be greater than zero"),
    ("20.01", "A promised payment is at most 20.00 USD"),
    ("1.005", "USD amounts have at most 2 decimal places"),
])
def test_bad_amounts_are_refused_and_change_nothing(owner_client, owner, offering, amount,
                                                    message):
    response = owner_client.post(URL + "take/", {"amount": amount})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert personal_account(owner.client).balance == 0
    assert not PromisedPayment.objects.exists()


def test_a_second_promise_while_one_runs_is_refused(owner_client, owner, offering):
    owner_client.post(URL + "take/", {"amount": "10.00"})

    response = owner_client.post(URL + "take/", {"amount": "10.00"})

    assert response.status_code == 400
    assert "already have a promised payment running" in response.content.decode()
    assert personal_account(owner.client).balance == Decimal("10.00")


def test_a_provider_without_promises_offers_none(owner_client, provider):
    provider.promised_payment_max = Decimal(0)
    provider.save()

    assert "does not give promised payments" in owner_client.get(URL).content.decode()
    assert owner_client.post(URL + "take/", {"amount": "5.00"}).status_code == 400


def test_taking_one_needs_the_right_to_manage_finances(client, owner, offering):
    reader = ClientUserFactory(client=owner.client, finances_access=Access.READ)
    client.force_login(reader.user)

    assert client.get(URL).status_code == 200
    assert client.post(URL + "take/", {"amount": "5.00"}).status_code == 403
    assert personal_account(owner.client).balance == 0

"""The demo of `make run`: seeded once, unchanged by a second run, books balanced, and the
billing clock's past days already charged the daily server once a day."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Client
from billing.audit import audit
from billing.models import Charge, ChargeKind, ClosingDocument, Transaction
from engine.models import BillingDay
from payments.models import Payment, SandboxTransaction
from services.models import Charging, Service
from support.models import InboundEmail, InboundOutcome

pytestmark = pytest.mark.django_db


def _counts():
    return (Client.objects.count(), Service.objects.count(), Transaction.objects.count(),
            Charge.objects.count(), BillingDay.objects.count())


def test_the_demo_is_seeded_once_and_its_clock_has_run(capsys):
    call_command("seed_demo")
    first = _counts()
    call_command("seed_demo")

    assert _counts() == first
    assert audit() == []
    daily = Service.objects.get(client__email="client@example.com",
                                plan__charging=Charging.DAILY)
    days = list(Charge.objects.filter(service=daily, kind=ChargeKind.DAILY)
                .order_by("period_start").values_list("period_start", flat=True))
    activated = timezone.localdate(daily.activated_at)
    assert days == [activated + timedelta(days=n)
                    for n in range((timezone.localdate() - activated).days)]
    assert "client@example.com" in capsys.readouterr().out
    # The demo's card top-up is known to the sandbox (so staff can refund it) and saved
    # (so the pending order can be paid with it).
    top_up = Payment.objects.get(idempotency_key="demo-topup-1")
    assert SandboxTransaction.objects.get(reference=top_up.gateway_reference).status == \
        "succeeded"
    assert top_up.saved_method.client.email == "client@example.com"
    # The daily server began before this month: last month has its closing document.
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    assert ClosingDocument.objects.filter(client=daily.client, period_start=last_month).exists()
    # The E-mail screen has strangers to decide on (one replying to a ticket) and spam the
    # default rules caught, received once however often the demo is seeded.
    received = InboundEmail.objects.filter(message_id__startswith="<demo-mail-")
    assert sorted(received.values_list("outcome", flat=True)) == sorted(
        [InboundOutcome.UNKNOWN_SENDER] * 2 + [InboundOutcome.SPAM] * 2)
    assert received.filter(outcome=InboundOutcome.UNKNOWN_SENDER,
                           ticket__client__email="client@example.com").count() == 1

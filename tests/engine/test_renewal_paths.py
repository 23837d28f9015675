"""A period is paid once whatever the path: a renewal waiting for money is renewed by the
payment that brings it (and its stopped service resumes), an order for a period the clock
renewed meanwhile is refused (the money stays on the balance), and the database refuses
a second renewal charge of the same period. A renewal paid from the balance has no
invoice: the month's closing document lists it."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from djmoney.money import Money

from accounts.models import Notification
from billing.closing import closing_documents_issue
from billing.ledger import personal_account
from billing.models import Charge, ChargeKind, ClosingDocument, Invoice
from cart.checkout import CheckoutError, order_for_services, order_pay_from_balance
from cart.models import ItemKind, Order, OrderStatus
from cart.pricing import ItemSpec
from core.days import start_of
from engine import clock
from engine.renewals import renew_chunk
from engine.resume import resume_after_payment
from services.models import Service, ServiceStatus, SuspendReason
from tests.engine.conftest import START, complete_operations
from tests.factories.billing import top_up
from tests.factories.services import ServiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("books_balance")]
DAY = START + timedelta(days=28)  # 29 January: 1 February is within the lead days
S = ServiceStatus


def _site(world, client, expires_on=date(2027, 2, 1)):
    return ServiceFactory(client=client, plan=world["monthly"], billing_period="month",
                          status=S.ACTIVE, auto_renew=True, expires_on=expires_on,
                          anchor_day=1, activated_at=datetime(2026, 12, 1, tzinfo=UTC))


def test_a_renewal_waiting_for_money_is_renewed_by_the_payment_that_brings_it(world):
    client = world["client"]()
    site = _site(world, client)

    done = renew_chunk(DAY, client.pk, client.pk)
    assert (done.renewed, done.pending) == ([], [site.pk])
    assert Notification.objects.filter(event="renewal_failed").count() == 1
    # The day it expires it stops, still waiting.
    clock.run_day(date(2027, 2, 1))
    site.refresh_from_db()
    assert (site.operation, site.status) == ("suspension", S.IN_PROGRESS)
    complete_operations()
    site.refresh_from_db()
    assert (site.status, site.suspend_reason) == (S.SUSPENDED, SuspendReason.EXPIRED)

    top_up(client, "25.00")
    renewed = resume_after_payment(client, now=start_of(date(2027, 2, 3)))

    assert renewed == [site.pk]
    charge = Charge.objects.get(service=site, kind=ChargeKind.RENEWAL)
    assert (charge.period_start, charge.period_end, charge.amount) == (
        date(2027, 2, 1), date(2027, 3, 1), Decimal("10.00"))
    site.refresh_from_db()
    assert (site.status, site.operation, site.expires_on) == (S.IN_PROGRESS, "renewal",
                                                              date(2027, 3, 1))
    complete_operations()
    site.refresh_from_db()
    assert site.status == S.ACTIVE
    assert personal_account(client).balance == Decimal("15.00")
    assert not Invoice.objects.filter(client=client).exists()


def test_an_order_for_a_period_the_clock_renewed_is_refused(world):
    client = world["client"]()
    top_up(client, "30.00")
    site = _site(world, client)
    order = order_for_services(client=client, idempotency_key="by-hand", today=DAY,
                               when=start_of(DAY),
                               specs=[ItemSpec(ItemKind.RENEWAL, site, period="month")])

    renew_chunk(DAY, client.pk, client.pk)  # the clock renews first
    with pytest.raises(CheckoutError, match="renewed meanwhile"):
        order_pay_from_balance(order=order, user=None)

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert Charge.objects.filter(service=site, kind=ChargeKind.RENEWAL).count() == 1
    assert personal_account(client).balance == Decimal("20.00")


def test_the_database_refuses_a_second_renewal_of_a_period(world):
    client = world["client"]()
    top_up(client, "30.00")
    site = _site(world, client)
    renew_chunk(DAY, client.pk, client.pk)
    first = Charge.objects.get(service=site)

    with pytest.raises(IntegrityError), transaction.atomic():
        Charge.objects.create(client=client, service=site, kind=ChargeKind.RENEWAL,
                              description="again", period_start=first.period_start,
                              amount=Decimal("10.00"), currency="USD",
                              transaction=first.transaction, idempotency_key="again")


def test_the_renewals_of_a_month_are_on_its_closing_document(world):
    client = world["client"]()
    top_up(client, "30.00")
    site = _site(world, client)
    renew_chunk(DAY, client.pk, client.pk)

    closing_documents_issue(month=DAY, at=start_of(date(2027, 2, 1)))

    document = ClosingDocument.objects.get(client=client)
    line = document.lines.get()
    assert (line.kind, line.service_id, line.gross) == ("renewal", site.pk, Decimal("10.00"))
    assert (line.period_start, line.period_end) == (date(2027, 2, 1), date(2027, 2, 28))
    assert not Order.objects.exists()


def test_a_saved_card_with_autopay_pays_what_the_balance_does_not(world):
    from payments.models import Payment, PaymentStatus, SavedPaymentMethod
    from tests.factories.payments import PaymentMethodFactory

    client = world["client"]()
    top_up(client, "4.00")
    card = PaymentMethodFactory(company=world["company"])
    SavedPaymentMethod.objects.create(client=client, method=card, token="sbx_card_ok",
                                      label="Sandbox card", autopay=True, is_default=True)
    site = _site(world, client)

    done = renew_chunk(DAY, client.pk, client.pk)

    assert done.renewed == [site.pk]
    payment = Payment.objects.get(client=client)
    assert (payment.status, payment.amount) == (PaymentStatus.SUCCEEDED, Decimal("6.00"))
    assert Order.objects.get(client=client).status == OrderStatus.PAID
    assert personal_account(client).balance == Decimal("0.00")
    assert Money(Charge.objects.get(service=site).amount, "USD") == Money("10.00", "USD")
    assert Service.objects.get(pk=site.pk).expires_on == date(2027, 3, 1)

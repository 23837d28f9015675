"""Replaying a past month writes that month's dates: the clock takes its day from its
caller, never from the wall clock, so charges, suspensions, renewals with their invoices
(and their number's year) and closing documents all carry the replayed days."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.models import Charge, ClosingDocument, Invoice, Transaction
from cart.models import Order
from services.models import ServiceHistory, ServiceOperation, ServiceStatus
from tests.factories.billing import top_up
from tests.factories.services import ServiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("books_balance")]
FIRST, LAST = date(2025, 12, 1), date(2026, 1, 1)  # a month long past, and the 1st after


def _within(moment) -> bool:
    return moment is not None and FIRST <= timezone.localdate(moment) <= LAST


def test_a_replayed_month_writes_the_replayed_days(world):
    before = datetime.combine(FIRST - timedelta(days=1), time(12), tzinfo=UTC)
    short = world["client"]()  # pays ten days of 1.00, then is stopped for debt
    top_up(short, "10.00")
    ServiceFactory(client=short, plan=world["per_day"], billing_period="day",
                   status=ServiceStatus.ACTIVE, activated_at=before)
    renewing = world["client"]()  # renews a 10.00 month on 1 December
    top_up(renewing, "50.00")
    site = ServiceFactory(client=renewing, plan=world["monthly"], billing_period="month",
                          status=ServiceStatus.ACTIVE, activated_at=before, auto_renew=True,
                          expires_on=FIRST, anchor_day=1)
    call_command("billing_run", "--from", str(FIRST), "--to", str(LAST))

    charges = Charge.objects.all()
    assert charges.count() >= 10
    assert all(_within(c.created_at) for c in charges)
    # (the top-ups above were made today, outside the replay: what the clock wrote)
    written = Transaction.objects.exclude(description="Test top-up")
    assert written.exists()
    assert all(_within(t.created_at) for t in written)
    # The December renewal was paid from the balance: no invoice asks for it, the month's
    # closing document lists it (the module's work is not run here).
    assert not Invoice.objects.filter(client=renewing).exists()
    assert not Order.objects.exists()
    renewal = Charge.objects.get(client=renewing, kind="renewal")
    assert timezone.localdate(renewal.created_at) == FIRST
    assert (renewal.period_start, renewal.amount) == (FIRST, Decimal("10.00"))
    stopped = ServiceHistory.objects.filter(service__client=short, to_status="in_progress",
                                            operation="suspension")
    assert stopped.count() == 1
    assert timezone.localdate(stopped.get().created_at) == date(2025, 12, 11)
    assert all(_within(h.created_at) for h in ServiceHistory.objects.filter(
        service__in=[site.pk, *short.services.values_list("pk", flat=True)]))
    assert all(_within(o.created_at) for o in ServiceOperation.objects.all())
    documents = ClosingDocument.objects.order_by("number")
    assert [d.period_start for d in documents] == [FIRST, FIRST]
    assert all(timezone.localdate(d.issued_at) == LAST for d in documents)
    assert [d.number for d in documents] == ["CLK-CD-2026-00001", "CLK-CD-2026-00002"]
    assert documents.get(client=renewing).lines.get().kind == "renewal"

"""A year of billing days for clients with daily and period services, with and without
auto-renewal, saved cards and top-ups, checked against amounts computed here, apart
from the code under test."""

import calendar
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from djmoney.money import Money

from accounts.models import Notification
from billing.ledger import personal_account
from billing.models import Charge, ChargeKind
from core.days import start_of
from engine import clock
from payments.models import Payment, PaymentStatus, SavedPaymentMethod
from services.models import Service, ServiceStatus, SuspendReason
from tests.engine.conftest import START, complete_operations
from tests.factories.billing import top_up
from tests.factories.payments import PaymentMethodFactory
from tests.factories.services import ServiceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("books_balance")]
S = ServiceStatus


def _active(client, plan, period, **fields):
    activated = datetime.combine(START - timedelta(days=1), time(12), tzinfo=UTC)
    return ServiceFactory(client=client, plan=plan, billing_period=period, status=S.ACTIVE,
                          activated_at=activated, **fields)


def _month_share(total_cents: int, day) -> int:
    """The test's own statement of the rule: a month's cents over its days, the leftover
    cents on the last days."""
    days = calendar.monthrange(day.year, day.month)[1]
    base, left = divmod(total_cents, days)
    return base + (1 if day.day > days - left else 0)


def _run(days: int, each_day=None) -> list:
    reports = []
    for offset in range(days):
        day = START + timedelta(days=offset)
        if each_day is not None:
            each_day(day)
        reports.append(clock.run_day(day))
        complete_operations()
    return reports


def test_a_year_of_daily_and_period_services(world, django_capture_on_commit_callbacks):
    make = world["client"]
    # A: 1.00 a day, 100.00 once: 100 days paid, then stopped and deleted after 7 days.
    a = make()
    top_up(a, "100.00")
    vps_a = _active(a, world["per_day"], "day")
    # B: 30.00 a month charged daily, balance for the whole year.
    b = make()
    top_up(b, "1000.00")
    vps_b = _active(b, world["per_month"], "month")
    # C: 10.00 a month, auto-renewal, 50.00: five renewals, then stopped, then deleted.
    c = make()
    top_up(c, "50.00")
    site_c = _active(c, world["monthly"], "month", auto_renew=True, expires_on=START,
                     anchor_day=1)
    # D: 10.00 a month, auto-renewal, no balance but a saved card with autopay.
    d = make()
    card = PaymentMethodFactory(company=world["company"])
    SavedPaymentMethod.objects.create(client=d, method=card, token="sbx_card_d",
                                      label="Sandbox card", autopay=True, is_default=True)
    site_d = _active(d, world["monthly"], "month", auto_renew=True, expires_on=START,
                     anchor_day=1)
    # E: no auto-renewal: expires on 1 February, stopped, deleted after the grace period.
    e = make()
    site_e = _active(e, world["monthly"], "month", expires_on=START + timedelta(days=31),
                     anchor_day=1)
    # F: 1.00 a day, 10.00: stopped on day 10, tops up 20.00 on day 15 (inside the grace
    # period) and is resumed: 20 more days, then stopped again and deleted.
    f = make()
    top_up(f, "10.00")
    vps_f = _active(f, world["per_day"], "day")

    def each_day(day):
        if day == START + timedelta(days=15):
            with django_capture_on_commit_callbacks(execute=True):
                from engine.resume import resume_paid

                top_up(f, "20.00")
                resume_paid(f, day, now=start_of(day))

    with django_capture_on_commit_callbacks(execute=True):
        _run(365, each_day)

    # A
    vps_a.refresh_from_db()
    assert Charge.objects.filter(service=vps_a, kind=ChargeKind.DAILY).count() == 100
    assert personal_account(a).balance == 0
    assert vps_a.status == S.DELETED
    assert Notification.objects.filter(client=a, event="suspended").count() == 1
    assert Notification.objects.filter(client=a, event="deleted").count() == 1
    # B: every day of the year, by the month rule computed here.
    expected_b = sum(_month_share(3000, START + timedelta(days=i)) for i in range(365))
    charged_b = sum(c.amount for c in Charge.objects.filter(service=vps_b))
    assert charged_b == Decimal(expected_b) / 100 == Decimal("360.00")
    assert personal_account(b).balance == Decimal("640.00")
    # C: renewed on 1 Jan (lead 3 days: already due) ... five times, then nothing left.
    site_c.refresh_from_db()
    renewals_c = Charge.objects.filter(service=site_c, kind=ChargeKind.RENEWAL).order_by("pk")
    assert [(r.period_start, r.period_end) for r in renewals_c] == [
        (START.replace(month=m), START.replace(month=m + 1)) for m in range(1, 6)]
    assert personal_account(c).balance == 0
    assert site_c.status == S.DELETED
    # D: twelve renewals, each paid by the card through the sandbox.
    site_d.refresh_from_db()
    assert Charge.objects.filter(service=site_d, kind=ChargeKind.RENEWAL).count() == 13
    assert site_d.status == S.ACTIVE
    assert Payment.objects.filter(client=d, status=PaymentStatus.SUCCEEDED).count() == 13
    assert personal_account(d).balance == 0
    # E: expired on 1 Feb, stopped that day, deleted 7 days later; reminded once.
    site_e.refresh_from_db()
    assert site_e.status == S.DELETED
    assert site_e.unpaid_since == START + timedelta(days=31)
    assert Notification.objects.filter(client=e, event="expiry_soon").count() == 1
    # F: 10 days, stopped, 20 more days after the top-up, stopped and deleted.
    vps_f.refresh_from_db()
    assert Charge.objects.filter(service=vps_f).count() == 30
    assert personal_account(f).balance == 0
    assert vps_f.status == S.DELETED
    assert len(mail.outbox) == Notification.objects.count()


def test_the_same_day_twice_charges_once(world):
    client = world["client"]()
    top_up(client, "10.00")
    vps = _active(client, world["per_day"], "day")

    first = clock.run_day(START)
    again = clock.run_day(START)

    assert (first.charged, again.charged) == (1, 0)
    assert Charge.objects.filter(service=vps).count() == 1
    assert personal_account(client).balance == Decimal("9.00")


def test_a_dry_run_reports_and_changes_nothing(world):
    client = world["client"]()
    top_up(client, "1.50")
    _active(client, world["per_day"], "day")
    _active(client, world["per_day"], "day")  # the second one cannot be paid

    report = clock.run_day(START, dry_run=True)

    assert (report.charged, len(report.suspended_unpaid)) == (1, 1)
    assert not Charge.objects.exists()
    assert personal_account(client).balance == Decimal("1.50")
    assert not Service.objects.filter(status=S.IN_PROGRESS).exists()
    assert not Notification.objects.exists()


def test_services_are_paid_in_order_while_the_balance_and_credit_limit_last(world):
    from tests.factories.billing import set_credit_limit

    client = world["client"]()
    top_up(client, "1.00")
    set_credit_limit(client, "1.50")
    *_, third = (_active(client, world["per_day"], "day") for _ in range(3))

    report = clock.run_day(START)

    assert report.charged == 2
    assert personal_account(client).balance == Decimal("-1.00")
    assert report.suspended_unpaid == [third.pk]
    third.refresh_from_db()
    assert (third.status, third.operation) == (S.IN_PROGRESS, "suspension")


def test_staff_hold_and_payments_in_flight_keep_services_running(world):
    client = world["client"]()
    held = _active(client, world["per_day"], "day", suspension_hold_until=START)

    report = clock.run_day(START)
    later = clock.run_day(START + timedelta(days=1))

    assert report.suspended_unpaid == []
    assert later.suspended_unpaid == [held.pk]


def test_a_payment_never_lifts_a_staff_or_abuse_suspension(world):
    from engine.resume import resume_paid

    client = world["client"]()
    by_staff = _active(client, world["per_day"], "day")
    Service.objects.filter(pk=by_staff.pk).update(status=S.SUSPENDED_BY_ADMIN,
                                                  suspend_reason=SuspendReason.ADMIN)
    unpaid = _active(client, world["per_day"], "day")
    Service.objects.filter(pk=unpaid.pk).update(status=S.SUSPENDED,
                                                suspend_reason=SuspendReason.NONPAYMENT)
    top_up(client, "50.00")

    resumed = resume_paid(client, START, now=start_of(START))

    assert resumed == [unpaid.pk]
    by_staff.refresh_from_db()
    assert by_staff.status == S.SUSPENDED_BY_ADMIN
    assert not Charge.objects.filter(service=by_staff).exists()


def test_a_promised_payment_keeps_services_running_and_is_taken_back(world):
    from billing.models import PromisedPayment
    from billing.promises import promised_payment_take

    provider = world["provider"]
    provider.promised_payment_max = Decimal("5.00")
    provider.promised_payment_days = 3
    provider.save()
    client = world["client"]()
    vps = _active(client, world["per_day"], "day")

    promised_payment_take(client=client, amount=Money("5.00", "USD"), as_of=START)
    _run(3)
    assert Charge.objects.filter(service=vps).count() == 3
    clock.run_day(START + timedelta(days=3))  # the promise is due: taken back

    assert PromisedPayment.objects.get().repaid_transaction is not None
    assert personal_account(client).balance == Decimal("-3.00")
    vps.refresh_from_db()
    assert vps.status == S.IN_PROGRESS  # being suspended for non-payment


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"promised_payment_max": Decimal(0)}, "does not give"),
        ({"promised_payment_max": Decimal("2.00")}, "at most 2.00 USD"),
    ],
)
def test_promised_payment_limits(world, setup, message):
    from billing.promises import PromiseRefused, promised_payment_take

    for key, value in setup.items():
        setattr(world["provider"], key, value)
    world["provider"].save()
    client = world["client"]()

    with pytest.raises(PromiseRefused, match=message):
        promised_payment_take(client=client, amount=Money("5.00", "USD"), as_of=START)
    assert personal_account(client).balance == 0


def test_overage_is_charged_when_its_period_ends(world):
    from services.models import AddonKind
    from tests.factories.services import AddonFactory, UsageFactory

    client = world["client"]()
    site = _active(client, world["monthly"], "month", expires_on=START + timedelta(days=30))
    traffic = AddonFactory(plan=world["monthly"], kind=AddonKind.METERED,
                           included=Decimal(100), overage_price=Money("0.10", "USD"))
    UsageFactory(service=site, addon=traffic, period_start=START - timedelta(days=30),
                 period_end=START, quantity=Decimal("142.5"))

    first = clock.run_day(START)
    again = clock.run_day(START + timedelta(days=1))

    (overage,) = Charge.objects.filter(kind=ChargeKind.OVERAGE)
    assert overage.amount == Decimal("4.25")
    assert (first.overages, again.overages) == (1, 0)

"""A chunk's renewals from the balance (one transaction, set-based) write the same money to
the cent as the same renewals bought one by one through orders: per service the charge,
its tax and period, the period's cost and the new expiry; per client the balance; and the
revenue, discounts and taxes the provider books."""

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum
from djmoney.money import Money
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.audit import audit
from billing.ledger import personal_account
from billing.models import AccountKind, Charge, ChargeKind, Entry, TaxRate
from cart.models import PeriodCost
from engine.renewals import renew, renew_from_balance
from services.models import AddonKind, ServiceAddon, ServiceStatus
from tests.factories.accounts import ClientFactory, ClientGroupFactory, PayerFactory
from tests.factories.billing import set_credit_limit, top_up
from tests.factories.cart import GroupDiscountFactory
from tests.factories.services import (
    AddonFactory,
    AddonPriceFactory,
    PlanFactory,
    PlanPriceFactory,
    ServiceFactory,
)

pytestmark = pytest.mark.django_db
DAY = date(2027, 1, 29)  # 31 January is within the three lead days


@pytest.fixture
def catalog(company):
    """A hosting plan (10.00 a month, 27.00 a quarter, renewals of the year at 99.99) with
    a disk (0.35 per GB a month above 10) and a backup toggle (1.99); a group with 15 %
    off it; a company taxing Germany at 19 % and everyone else at 7.5 %."""
    provider = company.providers.get()
    provider.renewal_lead_days = 3
    provider.save()
    plan = PlanFactory(provider=provider, name="Hosting")
    PlanPriceFactory(plan=plan, period="3months", price=Money("27.00", "USD"))
    PlanPriceFactory(plan=plan, period="year", price=Money("120.00", "USD"),
                     renewal_price=Money("99.99", "USD"))
    disk = AddonFactory(plan=plan, kind=AddonKind.QUANTITY, included=Decimal(10),
                        minimum=Decimal(10), maximum=Decimal(200), step=Decimal(1))
    for period, price in (("month", "0.35"), ("3months", "1.00"), ("year", "3.90")):
        AddonPriceFactory(addon=disk, period=period, price=Money(price, "USD"))
    backup = AddonFactory(plan=plan, kind=AddonKind.TOGGLE, included=Decimal(0),
                          minimum=Decimal(0), maximum=Decimal(1), step=Decimal(1))
    for period, price in (("month", "1.99"), ("3months", "5.49"), ("year", "19.99")):
        AddonPriceFactory(addon=backup, period=period, price=Money(price, "USD"))
    group = ClientGroupFactory()
    GroupDiscountFactory(group=group, percent=Decimal(15), product_types=["vps"])
    TaxRate.objects.create(company=company, country="", rate=Decimal("0.075"))
    TaxRate.objects.create(company=company, country="DE", rate=Decimal("0.19"))
    return {"provider": provider, "company": company, "plan": plan, "disk": disk,
            "backup": backup, "group": group}


# (period, disk GB, backup on, in the discount group, payer in Germany, expires on)
SERVICES = [
    ("month", 10, False, False, False, date(2027, 1, 31)),
    ("month", 37, True, True, True, date(2027, 1, 31)),
    ("3months", 55, False, True, False, date(2027, 2, 1)),
    ("year", 200, True, False, True, date(2027, 1, 30)),
    ("year", 13, True, True, False, date(2027, 1, 29)),
    ("month", 11, True, False, True, date(2027, 1, 15)),  # overdue: stopped, still renews
]


def _client(catalog, *, grouped: bool, german: bool, balance: str):
    client = ClientFactory(provider=catalog["provider"])
    if grouped:
        client.groups.add(catalog["group"])
    if german:
        PayerFactory(client=client, country="DE", is_default=True)
    top_up(client, balance)
    return client


def _service(catalog, client, period, disk, backup, expires_on):
    stopped = expires_on < DAY
    service = ServiceFactory(
        client=client, plan=catalog["plan"], billing_period=period, auto_renew=True,
        expires_on=expires_on, anchor_day=expires_on.day,
        status=ServiceStatus.SUSPENDED if stopped else ServiceStatus.ACTIVE,
        suspend_reason="expired" if stopped else "", unpaid_since=expires_on if stopped
        else None)
    ServiceAddon.objects.create(service=service, addon=catalog["disk"], quantity=disk)
    ServiceAddon.objects.create(service=service, addon=catalog["backup"],
                                quantity=Decimal(1 if backup else 0))
    return service


def _pairs(catalog, rows, *, balance="2000.00"):
    """The same services twice: the first set's clients (contiguous ids) renewed as a
    batch, the second's one by one."""
    made = {}
    for side in ("batch", "one"):
        made[side] = []
        for period, disk, backup, grouped, german, expires_on in rows:
            client = _client(catalog, grouped=grouped, german=german, balance=balance)
            made[side].append(_service(catalog, client, period, disk, backup, expires_on))
    return made["batch"], made["one"]


def _booked(services, kind: str) -> Decimal:
    """What the provider's account of ``kind`` got from these services' renewals."""
    transactions = Charge.objects.filter(service__in=services,
                                         kind=ChargeKind.RENEWAL).values("transaction")
    return Entry.objects.filter(transaction__in=transactions,
                                account__kind=kind).aggregate(total=Sum("amount"))["total"]


def _renew_both(batch, one):
    clients = [service.client_id for service in batch]
    renewed, short = renew_from_balance(DAY, (min(clients), max(clients)))
    outcomes = [renew(service, DAY) for service in one]
    return renewed, short, outcomes


def _assert_same_money(batch, one):
    for a, b in zip(batch, one, strict=True):
        charge_a = Charge.objects.get(service=a, kind=ChargeKind.RENEWAL)
        charge_b = Charge.objects.get(service=b, kind=ChargeKind.RENEWAL)
        assert (charge_a.amount, charge_a.tax, charge_a.tax_rate, charge_a.period_start,
                charge_a.period_end) == (charge_b.amount, charge_b.tax, charge_b.tax_rate,
                                         charge_b.period_start, charge_b.period_end)
        a.refresh_from_db()
        b.refresh_from_db()
        assert (a.expires_on, a.anchor_day) == (b.expires_on, b.anchor_day)
        cost_a = PeriodCost.objects.get(service=a, period_start=charge_a.period_start)
        cost_b = PeriodCost.objects.get(service=b, period_start=charge_b.period_start)
        assert (cost_a.owed, cost_a.charged) == (cost_b.owed, cost_b.charged)
        assert personal_account(a.client).balance == personal_account(b.client).balance
    for kind in (AccountKind.REVENUE, AccountKind.DISCOUNTS, AccountKind.TAX_PAYABLE):
        assert _booked(batch, kind) == _booked(one, kind), kind


@pytest.mark.parametrize("rounding", ["line", "document"])
def test_a_batch_writes_what_renewals_one_by_one_write(catalog, rounding):
    catalog["company"].tax_rounding = rounding
    catalog["company"].save()
    batch, one = _pairs(catalog, SERVICES)

    renewed, short, outcomes = _renew_both(batch, one)

    assert renewed.renewed == [service.pk for service in batch]
    assert short == []
    assert outcomes == ["renewed"] * len(one)
    _assert_same_money(batch, one)
    # The expected figures, stated here: a month of 37 GB with backup in Germany, 15 % off:
    # (10.00 + 27 x 0.35 + 1.99) = 21.44, less 3.22 = 18.22, and 19 % tax = 3.46.
    charge = Charge.objects.get(service=batch[1])
    assert (charge.amount - charge.tax, charge.tax) == (Decimal("18.22"), Decimal("3.46"))
    # a year renewed at its renewal price: 99.99 + 190 x 3.90 + 19.99 = 860.98, 19 % tax
    charge = Charge.objects.get(service=batch[3])
    assert (charge.amount - charge.tax, charge.tax) == (Decimal("860.98"), Decimal("163.59"))
    assert (charge.period_start, charge.period_end) == (date(2027, 1, 30), date(2028, 1, 30))
    # No invoice: the balance paid; the month's closing document lists it.
    assert not Charge.objects.filter(service__in=batch, invoice__isnull=False).exists()
    assert audit() == []


def test_a_short_balance_pays_what_it_covers_in_order_as_one_by_one(catalog):
    """A client whose balance covers its first renewals but not the next: the batch pays
    the same ones, in service order, as renewing them one by one does."""
    rows = [("month", 10, False, False, False, date(2027, 1, 31))] * 3
    batch_client = _client(catalog, grouped=False, german=False, balance="20.00")
    one_client = _client(catalog, grouped=False, german=False, balance="20.00")
    set_credit_limit(batch_client, "2.00")
    set_credit_limit(one_client, "2.00")
    batch = [_service(catalog, batch_client, *row[:3], row[5]) for row in rows]
    one = [_service(catalog, one_client, *row[:3], row[5]) for row in rows]

    renewed, short, outcomes = _renew_both(batch, one)

    # 10.75 each: 20.00 + 2.00 of credit pays two (21.50), not the third.
    assert renewed.renewed == [batch[0].pk, batch[1].pk]
    assert short == [batch[2]]
    assert outcomes == ["renewed", "renewed", "pending"]
    _assert_same_money(batch[:2], one[:2])
    assert personal_account(batch_client).balance == Decimal("-1.50")
    assert audit() == []


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(
    st.sampled_from(["month", "3months", "year"]), st.integers(10, 200), st.booleans(),
    st.booleans(), st.booleans(),
    st.sampled_from([date(2027, 1, 29), date(2027, 1, 30), date(2027, 1, 31),
                     date(2027, 2, 1)])), min_size=1, max_size=4),
       rounding=st.sampled_from(["line", "document"]))
def test_any_batch_writes_what_one_by_one_writes(catalog, rows, rounding):
    catalog["company"].tax_rounding = rounding
    catalog["company"].save()
    batch, one = _pairs(catalog, rows)

    renewed, short, _ = _renew_both(batch, one)

    assert len(renewed.renewed) == len(rows)
    assert not short
    _assert_same_money(batch, one)

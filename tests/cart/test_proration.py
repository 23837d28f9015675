"""Proration: the charges of a period and its changes add up to what a client who had
each configuration for its days would owe, to the minor unit."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from djmoney.money import Money
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.calculators import prorate
from billing.ledger import personal_account
from billing.models import Charge, ChargeKind
from core.money import round_fraction
from services.models import ServiceAddon
from services.operations import operation_run
from tests.cart.helpers import pay
from tests.factories.billing import top_up
from tests.factories.services import ServiceFactory

cents = st.integers(min_value=0, max_value=500_000)


@settings(max_examples=300, deadline=None)
@given(start=st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)),
       length=st.integers(min_value=1, max_value=1096),
       first_price=cents,
       changes=st.lists(st.tuples(st.floats(min_value=0, max_value=1, allow_nan=False),
                                  cents), max_size=8))
def test_charges_add_up_to_what_each_configuration_costs_for_its_days(start, length,
                                                                      first_price, changes):
    end = start + timedelta(days=length)
    price = Money(Decimal(first_price) / 100, "USD")
    owed, charged = Fraction(price.amount), price
    days = sorted(int(position * length) for position, _ in changes)
    segments = [(start, price)]  # (from, price): computed independently below
    for day, (_, new_cents) in zip(days, changes, strict=True):
        change_on = start + timedelta(days=day)
        new_price = Money(Decimal(new_cents) / 100, "USD")
        result = prorate(period_start=start, period_end=end, change_on=change_on,
                         old_price=segments[-1][1], new_price=new_price, owed_before=owed,
                         charged_before=charged)
        owed, charged = result.owed_exact, charged + result.charge
        segments.append((change_on, new_price))

    exact = sum(Fraction(p.amount) * ((segments[i + 1][0] if i + 1 < len(segments) else end)
                                      - since).days / length
                for i, (since, p) in enumerate(segments))
    assert charged == round_fraction(exact, "USD")


@pytest.mark.django_db
@pytest.mark.usefixtures("books_balance")
@pytest.mark.parametrize(
    ("days_left", "new_disk", "monthly_delta"),
    [
        (15, "60", 20),  # 40 GB more at 0.50
        (10, "40", 10),  # a third of a month or so: rounded half up
        (15, "20", 0),  # no change
        (1, "100", 40),  # the last day
    ],
)
def test_pay_for_changes_charges_the_remaining_part_of_the_period(
        owner_client, owner, vps_plan, days_left, new_disk, monthly_delta):
    from cart.pricing import current_period

    today = date.today()
    top_up(owner.client, "100.00")
    expires = today + timedelta(days=days_left)
    service = ServiceFactory(client=owner.client, plan=vps_plan, expires_on=expires,
                             anchor_day=expires.day)
    ServiceAddon.objects.create(service=service, addon=vps_plan.disk, quantity=Decimal(20))
    period_start, period_end = current_period(service, today)
    expected = round_fraction(Fraction(monthly_delta) * days_left
                              / (period_end - period_start).days, "USD").amount

    response = owner_client.post(f"/cart/services/{service.pk}/change/", {
        "plan": vps_plan.pk, f"addon_{vps_plan.disk.pk}": new_disk, "pay_changes": "1"})
    assert response.status_code == 302
    item_page = owner_client.get(response["Location"]).content.decode()
    pay(owner_client, url=response["Location"])

    change = Charge.objects.filter(service=service, kind=ChargeKind.CHANGE).first()
    assert (change.amount if change is not None else Decimal(0)) == expected
    assert personal_account(owner.client).balance == Decimal("100.00") - expected
    assert service.addon_values.get().quantity == Decimal(new_disk)
    assert "Pay for configuration change" in item_page
    if change is not None:
        assert change.derivation["remaining_days"] == days_left


@pytest.mark.django_db
@pytest.mark.usefixtures("books_balance")
def test_a_downgrade_credits_the_unused_difference_with_a_credit_note(owner_client, owner,
                                                                      vps_plan):
    top_up(owner.client, "100.00")
    from tests.cart.helpers import order_vps

    order_vps(owner_client, vps_plan, disk="60")  # 10.00 + 40 GB x 0.50 = 30.00
    pay(owner_client)
    service = Charge.objects.get(kind=ChargeKind.ORDER).service
    operation_run(service.operations.get().pk)  # the simulated module activates it
    service.refresh_from_db()

    owner_client.post(f"/cart/services/{service.pk}/change/", {
        "plan": vps_plan.pk, f"addon_{vps_plan.disk.pk}": "20", "go_to_cart": "1"})
    pay(owner_client)

    days = (service.expires_on - date.today()).days
    total = (service.expires_on - Charge.objects.get(kind=ChargeKind.ORDER).period_start).days
    expected_credit = round_fraction(Fraction(-20) * days / total, "USD")
    balance = personal_account(owner.client).balance
    assert balance == Decimal("70.00") - expected_credit.amount
    assert service.invoice_lines.first().invoice.credit_notes.get().total == -expected_credit.amount


@pytest.mark.django_db
@pytest.mark.usefixtures("books_balance")
def test_two_changes_in_a_period_continue_from_its_recorded_cost(owner_client, owner, vps_plan):
    """The period's cost is data (PeriodCost), written by each paid order: a second
    change prorates from what the first left, and the period's charges add up to the
    rounded exact cost of its configurations."""
    from cart.models import PeriodCost
    from tests.cart.helpers import order_vps

    top_up(owner.client, "200.00")
    order_vps(owner_client, vps_plan, disk="20")  # 10.00 for the month
    pay(owner_client)
    service = Charge.objects.get(kind=ChargeKind.ORDER).service
    operation_run(service.operations.get().pk)
    service.refresh_from_db()
    cost = PeriodCost.objects.get(service=service)
    assert (cost.owed, cost.charged) == (Fraction(10), Decimal("10.00"))

    for disk in ("60", "100"):  # +20.00 then +20.00 a month, both on the first day
        owner_client.post(f"/cart/services/{service.pk}/change/", {
            "plan": vps_plan.pk, f"addon_{vps_plan.disk.pk}": disk, "go_to_cart": "1"})
        pay(owner_client)
        for operation in service.operations.filter(status="pending"):
            operation_run(operation.pk)

    start, end = cost.period_start, service.expires_on
    total_days = (end - start).days
    remaining = (end - date.today()).days
    exact = Fraction(10) + Fraction(40) * remaining / total_days  # the test's own sum
    cost.refresh_from_db()
    assert cost.owed == exact
    charged = sum(c.amount for c in Charge.objects.filter(service=service))
    assert charged == round_fraction(exact, "USD").amount == cost.charged

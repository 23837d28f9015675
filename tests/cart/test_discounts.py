"""Group discounts, promo codes, trials, agreements and taxes in the one pricing function."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing.ledger import personal_account
from cart.checkout import CheckoutError, order_create
from cart.models import AgreementAcceptance, CartItem, Order, PromoCode, PromoRedemption
from tests.cart.helpers import order_vps, pay
from tests.factories.accounts import ClientGroupFactory, ClientUserFactory, PayerFactory
from tests.factories.billing import TaxRateFactory, top_up
from tests.factories.cart import AgreementFactory, GroupDiscountFactory, PromoCodeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("books_balance")]


def _cart_total(client) -> str:
    import re

    page = client.get("/cart/").content.decode()
    return re.search(r'id="cart-total">([^<]+)<', page).group(1)


def test_group_discount_then_percent_promo(owner_client, owner, vps_plan):
    group = ClientGroupFactory()
    owner.client.groups.add(group)
    GroupDiscountFactory(group=group, percent=Decimal(20))
    PromoCodeFactory(code="WELCOME", kind=PromoCode.Kind.PERCENT, value=Decimal(10))
    order_vps(owner_client, vps_plan, disk="40")  # 20.00

    owner_client.post("/cart/promo/", {"code": "welcome"})

    assert _cart_total(owner_client) == "14.40 USD"  # 20.00 - 20 % = 16.00 - 10 % = 14.40


def test_fixed_promo_never_goes_below_zero_and_is_recorded(owner_client, owner, vps_plan):
    top_up(owner.client, "50.00")
    PromoCodeFactory(code="FIVEOFF", kind=PromoCode.Kind.FIXED, value=Decimal("5.00"))
    order_vps(owner_client, vps_plan, disk="40")
    owner_client.post("/cart/promo/", {"code": "FIVEOFF"})

    pay(owner_client)

    order = Order.objects.get()
    assert (order.total, order.discount) == (Decimal("15.00"), Decimal("5.00"))
    assert PromoRedemption.objects.get().amount == Decimal("5.00")
    assert PromoCode.objects.get(code="FIVEOFF").uses == 1


@pytest.mark.parametrize(
    ("promo", "message"),
    [
        ({"valid_until": timezone.now() - timedelta(days=1)}, "has expired"),
        ({"valid_from": timezone.now() + timedelta(days=1)}, "not valid yet"),
        ({"max_uses": 1, "uses": 1}, "used up"),
        ({"is_active": False}, "no longer valid"),
    ],
)
def test_a_promo_code_that_cannot_be_used_is_refused(owner_client, vps_plan, promo, message):
    PromoCodeFactory(code="BAD", **promo)
    order_vps(owner_client, vps_plan)

    page = owner_client.post("/cart/promo/", {"code": "BAD"}, follow=True).content.decode()

    assert message in page
    assert _cart_total(owner_client) == "20.00 USD"


def test_first_order_only_and_per_client_limits(owner_client, owner, vps_plan):
    top_up(owner.client, "100.00")
    PromoCodeFactory(code="FIRST", first_order_only=True, max_uses_per_client=5)
    order_vps(owner_client, vps_plan)
    owner_client.post("/cart/promo/", {"code": "FIRST"})
    pay(owner_client)
    order_vps(owner_client, vps_plan, hostname="second.example.com")

    page = owner_client.post("/cart/promo/", {"code": "FIRST"}, follow=True).content.decode()

    assert "first order only" in page


def test_a_promo_used_up_meanwhile_stops_the_checkout(owner_client, owner, vps_plan):
    top_up(owner.client, "100.00")
    promo = PromoCodeFactory(code="LAST", max_uses=1)
    order_vps(owner_client, vps_plan)
    owner_client.post("/cart/promo/", {"code": "LAST"})
    PromoCode.objects.filter(pk=promo.pk).update(uses=1)

    page = pay(owner_client)

    assert "Remove the promo code" in owner_client.get(page["Location"]).content.decode()
    assert not Order.objects.exists()
    assert personal_account(owner.client).balance == Decimal("100.00")


def test_a_trial_costs_nothing_the_first_time(owner_client, owner, vps_plan):
    vps_plan.trial_days = 7
    vps_plan.save()
    order_vps(owner_client, vps_plan)

    assert _cart_total(owner_client) == "0.00 USD"
    pay(owner_client)
    service = Order.objects.get().items.get().service
    assert service.expires_on == timezone.localdate() + timedelta(days=7)


def test_tax_is_added_for_the_payers_country(owner_client, owner, vps_plan, company):
    TaxRateFactory(company=company, country="", rate=Decimal("0.2"))
    PayerFactory(client=owner.client, is_default=True)
    order_vps(owner_client, vps_plan)

    assert _cart_total(owner_client) == "24.00 USD"


def test_a_required_agreement_is_accepted_with_time_and_user(owner_client, owner, vps_plan):
    agreement = AgreementFactory(title="VPS terms")
    agreement.plans.add(vps_plan)

    refused = order_vps(owner_client, vps_plan)
    accepted = order_vps(owner_client, vps_plan, **{f"agreement_{agreement.pk}": "on"})

    assert refused.status_code == 200
    assert "This field is required" in refused.content.decode()
    assert accepted.status_code == 302
    acceptance = AgreementAcceptance.objects.get()
    assert (acceptance.client, acceptance.user, acceptance.version) == (owner.client,
                                                                        owner.user, 1)
    assert CartItem.objects.count() == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_use_limit_holds_under_concurrent_checkouts(vps_plan, provider):
    from django.test import Client as Browser

    promo = PromoCodeFactory(code="ONLYONE", max_uses=1, kind=PromoCode.Kind.FIXED,
                             value=Decimal("5.00"))
    owners = [ClientUserFactory(owner=True, client__provider=provider) for _ in range(6)]
    for owner in owners:
        top_up(owner.client, "100.00")
        browser = Browser()
        browser.force_login(owner.user)
        order_vps(browser, vps_plan)
        browser.post("/cart/promo/", {"code": "ONLYONE"})
    barrier, results = threading.Barrier(len(owners)), []

    def checkout(owner):
        try:
            barrier.wait()
            order_create(client=owner.client, user=owner.user, idempotency_key="k",
                         now=timezone.now())
            results.append("ordered")
        except CheckoutError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(o,)) for o in owners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results.count("ordered") == 1
    assert PromoCode.objects.get(pk=promo.pk).uses == 1
    assert PromoRedemption.objects.count() == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_two_tabs_paying_the_same_cart_debit_once(vps_plan, provider):
    from django.test import Client as Browser

    owner = ClientUserFactory(owner=True, client__provider=provider)
    top_up(owner.client, "100.00")
    tabs = [Browser(), Browser()]
    for tab in tabs:
        tab.force_login(owner.user)
    order_vps(tabs[0], vps_plan)
    barrier, codes = threading.Barrier(4), []

    def click(tab, key):
        try:
            barrier.wait()
            codes.append(tab.post("/cart/checkout/", {"pay_with": "balance",
                                                      "idempotency_key": key}).status_code)
        finally:
            connection.close()

    # Two tabs, each double-clicked: two keys, four requests, one cart.
    threads = [threading.Thread(target=click, args=(tab, key))
               for tab, key in [(tabs[0], "a"), (tabs[0], "a"), (tabs[1], "b"), (tabs[1], "b")]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Order.objects.filter(status="paid").count() == 1
    assert personal_account(owner.client).balance == Decimal("80.00")
    assert codes == [302] * 4

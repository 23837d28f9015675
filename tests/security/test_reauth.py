"""Sensitive staff actions need a fresh re-authentication: each is refused (sent to
allauth's re-authentication page, nothing changed) when the person never re-authenticated
in this session or did so longer ago than ACCOUNT_REAUTHENTICATION_TIMEOUT, and goes
through right after they re-authenticated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from allauth.account import app_settings as account_settings
from django.test import Client as Browser

from accounts.impersonation import SESSION_KEY
from accounts.models import Department
from billing.ledger import personal_account
from payments.models import Payment, PaymentMethod, PaymentStatus, Refund
from services.models import Service
from tests.factories.accounts import (
    PASSWORD,
    AdminFactory,
    ClientFactory,
    DepartmentFactory,
    StaffFactory,
)
from tests.factories.billing import top_up
from tests.factories.payments import PaymentMethodFactory
from tests.factories.services import ServiceFactory
from tests.payments.helpers import decide, start_top_up
from tests.reauth import mark_reauthenticated

pytestmark = pytest.mark.django_db

REAUTH_PAGE = "/auth/reauthenticate/"


class _FormFields(HTMLParser):
    """The values a browser would send from the page's main form."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.setdefault(name, []).append(a.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._textarea:
                self.data[self._textarea][0] = self.data[self._textarea][0].lstrip("\n")
            self._textarea = None


def _change_form(browser, url: str, **changes) -> dict:
    page = browser.get(url)
    assert page.status_code == 200
    parser = _FormFields()
    parser.feed(page.content.decode())
    data = {k: v if len(v) != 1 else v[0] for k, v in parser.data.items()}
    data.pop("csrfmiddlewaretoken", None)
    return {**data, **changes, "_save": "Save"}


@dataclass
class Case:
    """A sensitive action: how to send it, and how to tell it happened."""

    prepare: Callable  # (browser, world) -> (url, data)
    done: Callable  # (world) -> bool


def _refund(browser, world):
    owner_browser = Browser()
    owner_browser.force_login(world["owner"].user)
    method = PaymentMethodFactory(company=world["company"], currency="USD")
    started = start_top_up(owner_browser, method, "25.00")
    owner_browser.get(decide(owner_browser, started, "approve").return_url)
    payment = Payment.objects.get(status=PaymentStatus.SUCCEEDED)
    return (f"/staff/payments/payment/{payment.pk}/refund/",
            {"amount": "5.00", "reason": "Goodwill", "idempotency_key": "r-1"})


def _adjust(browser, world):
    account = personal_account(world["owner"].client)
    return (f"/staff/billing/ledgeraccount/{account.pk}/adjust/",
            {"amount": "10.00", "reason": "Goodwill", "idempotency_key": "a-1"})


def _credit_limit(browser, world):
    url = f"/staff/billing/ledgeraccount/{personal_account(world['owner'].client).pk}/change/"
    return url, _change_form(browser, url, credit_limit="50.00")


def _enter(browser, world):
    world["browser"] = browser
    return f"/staff/accounts/client/{world['owner'].client.pk}/enter/", {}


def _payment_method(browser, world):
    method = PaymentMethodFactory(company=world["company"], currency="USD", name="Card")
    url = f"/staff/payments/paymentmethod/{method.pk}/change/"
    return url, _change_form(browser, url, name="Card of a thief")


def _staff_rights(browser, world):
    world["employee"] = employee = StaffFactory()
    world["department"] = department = DepartmentFactory(name="Accounting")
    url = f"/staff/accounts/user/{employee.pk}/change/"
    return url, _change_form(browser, url, groups=[str(department.pk)])


def _department(browser, world):
    department = DepartmentFactory(name="Sales")
    url = f"/staff/accounts/department/{department.pk}/change/"
    return url, _change_form(browser, url, name="Sales and more")


def _service(world) -> Service:
    world["service"] = service = ServiceFactory(
        client=world["owner"].client, plan=world["vps_plan"], expires_on=date(2027, 1, 31))
    return service


def _transfer(browser, world):
    world["new_owner"] = other = ClientFactory(provider=world["owner"].client.provider)
    return (f"/staff/services/service/{_service(world).pk}/billing/transfer/",
            {"to_client": other.pk, "reason": "Sold the business"})


def _extend(browser, world):
    return (f"/staff/services/service/{_service(world).pk}/billing/extend-free/",
            {"until": "2027-03-31", "reason": "Outage compensation"})


def _renew(browser, world):
    top_up(world["owner"].client, "100.00")
    return (f"/staff/services/service/{_service(world).pk}/billing/renew/",
            {"period": "month", "idempotency_key": "n-1"})


def _service_now(world) -> Service:
    return Service.objects.get(pk=world["service"].pk)


CASES = {
    "refund": Case(_refund, lambda w: Refund.objects.exists()),
    "balance adjustment": Case(
        _adjust, lambda w: personal_account(w["owner"].client).balance == Decimal("10.00")),
    "credit limit": Case(
        _credit_limit,
        lambda w: personal_account(w["owner"].client).credit_limit == Decimal("50.00")),
    "enter as client": Case(_enter, lambda w: SESSION_KEY in w["browser"].session),
    "payment method": Case(_payment_method, lambda w: PaymentMethod.objects.filter(
        name="Card of a thief").exists()),
    "staff rights": Case(_staff_rights,
                         lambda w: w["department"] in Department.objects.filter(
                             user=w["employee"])),
    "department rights": Case(_department, lambda w: Department.objects.filter(
        name="Sales and more").exists()),
    "service transfer": Case(_transfer, lambda w: _service_now(w).client == w["new_owner"]),
    "free extension": Case(_extend, lambda w: _service_now(w).expires_on == date(2027, 3, 31)),
    "paid renewal": Case(_renew, lambda w: _service_now(w).expires_on == date(2027, 2, 28)),
}


@pytest.fixture
def world(owner, company, vps_plan):
    return {"owner": owner, "company": company, "vps_plan": vps_plan}


def _signed_in(user, *, reauthenticated_ago: float | None) -> Browser:
    browser = Browser()
    browser.force_login(user)
    if reauthenticated_ago is not None:
        mark_reauthenticated(browser, user, seconds_ago=reauthenticated_ago)
    return browser


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize("last_reauthentication", ["never", "too long ago"])
def test_a_sensitive_action_without_a_fresh_reauthentication_is_refused(
        world, case, last_reauthentication):
    admin = AdminFactory()
    ago = None if last_reauthentication == "never" else \
        account_settings.REAUTHENTICATION_TIMEOUT + 5
    browser = _signed_in(admin, reauthenticated_ago=ago)
    url, data = CASES[case].prepare(browser, world)

    response = browser.post(url, data)

    assert response.status_code == 302
    assert response["Location"].startswith(REAUTH_PAGE)
    assert not CASES[case].done(world)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_sensitive_action_goes_through_right_after_reauthenticating(world, case):
    admin = AdminFactory()
    browser = _signed_in(admin, reauthenticated_ago=1)
    url, data = CASES[case].prepare(browser, world)

    response = browser.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert not response["Location"].startswith(REAUTH_PAGE)
    assert CASES[case].done(world)


def test_reauthenticating_with_the_password_sends_the_refused_action_on(world):
    admin = AdminFactory()
    browser = _signed_in(admin, reauthenticated_ago=None)
    url, data = _adjust(browser, world)

    refused = browser.post(url, data)
    wrong = browser.post(refused["Location"], {"password": "not-the-password"})
    assert personal_account(world["owner"].client).balance == Decimal("0.00")
    confirmed = browser.post(refused["Location"], {"password": PASSWORD})

    assert wrong.status_code == 200
    assert confirmed.status_code == 302
    assert personal_account(world["owner"].client).balance == Decimal("10.00")


def test_looking_needs_no_reauthentication(world):
    browser = _signed_in(AdminFactory(), reauthenticated_ago=None)
    method = PaymentMethodFactory(company=world["company"], currency="USD")

    assert browser.get(f"/staff/payments/paymentmethod/{method.pk}/change/").status_code == 200
    assert browser.get(f"/staff/billing/ledgeraccount/"
                       f"{personal_account(world['owner'].client).pk}/adjust/").status_code == 200


def test_a_suspension_hold_needs_a_fresh_re_authentication(client):
    """A hold lets a service run unpaid until its day: set only after re-authenticating."""
    from datetime import date

    from services.models import Service
    from tests.factories.accounts import AdminFactory
    from tests.factories.services import ServiceFactory
    from tests.reauth import mark_reauthenticated

    service = ServiceFactory(status="active")
    admin_user = AdminFactory()
    client.force_login(admin_user)
    url = f"/staff/services/service/{service.pk}/billing/suspension-hold/"
    data = {"until": "2031-01-01", "reason": "Waiting for the client's bank"}

    refused = client.post(url, data)
    assert refused.status_code == 302
    assert refused["Location"].startswith("/auth/reauthenticate/")
    assert Service.objects.get(pk=service.pk).suspension_hold_until is None

    mark_reauthenticated(client, admin_user)
    client.post(url, data)
    assert Service.objects.get(pk=service.pk).suspension_hold_until == date(2031, 1, 1)


def test_the_staff_password_page_is_allauths_rate_limited_one(client):
    from tests.factories.accounts import AdminFactory

    client.force_login(AdminFactory())
    for path in ("/staff/password_change/", "/staff/password_change/done/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == "/auth/password/change/"

"""Hostile input to every form of the client area and of the staff panel, found from the
URLconf: each page is opened, its forms read, and hypothesis posts them back with values
no honest person types. No answer may be a 500, and no page may show the markup sent
back unescaped."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import NoReverseMatch
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from support.inbound import receive
from tests.factories.accounts import AdminFactory, ClientGroupFactory, DepartmentFactory
from tests.factories.billing import TaxRateFactory
from tests.factories.cart import AgreementFactory, GroupDiscountFactory, PromoCodeFactory
from tests.factories.services import EnumerationItemFactory, UsageFactory
from tests.security.forms_html import Form, page_forms
from tests.security.urlwalk import (
    NOT_CLIENT_OWNED,
    Route,
    Unmapped,
    client_area_routes,
    client_kwargs,
    routes,
)

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
HOSTILE = [
    "NaN", "sNaN", "-NaN", "Infinity", "-Infinity", "inf", "1e400", "-1e400", "1E+999999999",
    str(10**40), str(-(10**40)), "9" * 400, "-1", "0", "0.0000001", "\u0661\u0662",
    "\uff14\uff12", "\u00b2",
    "\x00", "a\x00b", "x" * 100_000, SCRIPT, f'"><{SCRIPT[1:]}', "' OR 1=1 --",
    "'; DROP TABLE accounts_client; --", "%", "_", "\\", "../../etc/passwd", " ", "",
    "2027-02-30", "9999-12-31", "0001-01-01 00:00", "true", "null", "[]", "{}",
    "\u202e\u200b", "😀" * 50,
]
value_strategy = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40),
                           st.integers(min_value=-(10**30), max_value=10**30).map(str))

# Pages not fuzzed, and why.
SKIPPED = {
    "accounts:impersonation_leave": "ends the session the fuzz runs in",
    "admin:logout": "ends the session the fuzz runs in",
    "admin:login": "the sign-in, limited and tested by the sign-in suite",
    "admin:password_change": "changes the fuzzing user's own password (Django's own form)",
    "admin:jsi18n": "a script, no form",
    "admin:autocomplete": "JSON, no form",
    "admin:view_on_site": "a redirect, no form",
}
# Forms of the layout that end the session the fuzz runs in.
SESSION_ENDING = ("/auth/logout/", "/account/leave-client-area/", "/staff/logout/")
# No shrinking: it replays a failure for minutes; the failing values are in the message.
FUZZ = settings(max_examples=4, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
# The staff panel has three times as many pages: fewer examples each, the same budget.
FUZZ_STAFF = settings(FUZZ, max_examples=3)


def _client_pages() -> list[Route]:
    return [r for r in client_area_routes() if r.name not in NOT_CLIENT_OWNED
            and r.name not in SKIPPED and "^" not in r.route]


_ADMIN_NAME = re.compile(r"admin:(?P<app>\w+?)_(?P<model>[a-z0-9]+)_(?P<view>add|change|"
                         r"changelist|adjust|refund)$")


def _staff_pages() -> list[Route]:
    return [r for r in routes() if r.is_staff and r.name not in SKIPPED and "^" not in r.route
            and (_ADMIN_NAME.match(r.name) or r.name in ("cart_price_preview", "admin:index"))]


def _staff_url(route: Route, world) -> str | None:
    """The page with its ids filled by a row of its model (None: no row to open)."""
    if not route.kwargs:
        return route.fill({})
    match = _ADMIN_NAME.match(route.name)
    if route.name == "cart_price_preview":
        return route.fill({"plan_id": world.service.plan_id})
    model = apps.get_model(match["app"], match["model"])
    row = model.objects.order_by("pk").first()
    if row is None:
        return None
    return route.fill({k: row.pk for k in route.kwargs})


# Drawn before the page is read, so the examples do not depend on what the database
# holds by then (hypothesis replays them).
picks_strategy = st.tuples(
    st.integers(min_value=0, max_value=20),
    st.lists(st.tuples(st.booleans(), value_strategy), min_size=60, max_size=60))


QUERY_PARAMETERS = ["page", "q", "o", "p", "service", "client", "kind", "event", "id", "all"]


def _fuzz_page(http, url: str, picks) -> None:
    form_index, values = picks
    # What a page takes in its query string (paging, search, filters, ?service=).
    parameter = QUERY_PARAMETERS[form_index % len(QUERY_PARAMETERS)]
    queried = http.get(url, {parameter: values[0][1]})
    assert queried.status_code != 500, f"GET {url}?{parameter}={values[0][1]!r:.200}"
    _assert_escaped(queried, f"GET {url}?{parameter}=")
    forms = _forms(http, url)
    if not forms:
        return
    form: Form = forms[form_index % len(forms)]
    sent = form.defaults()
    for item, (hostile, value) in zip(form.fields, values, strict=False):
        if item.name == "csrfmiddlewaretoken" or item.kind == "submit" or not hostile:
            continue
        sent[item.name] = [value]
    target = form.action if form.action.startswith("/") else url
    send = http.post if form.method == "post" else http.get
    headers = {}
    if form.htmx_values is not None and form_index % 2:  # as htmx sends it while typing
        sent |= {k: [v] for k, v in form.htmx_values.items()}
        headers["HTTP_HX_REQUEST"] = "true"
    response = send(target, sent, **headers)
    assert response.status_code != 500, f"{form.method.upper()} {target} with {sent!r:.2000}"
    _assert_escaped(response, f"{form.method.upper()} {target}")
    if response.status_code in (301, 302, 303):  # stored: show the pages that list it
        for follow in {url, response["Location"]}:
            if follow.startswith("/"):
                again = http.get(follow)
                assert again.status_code != 500, f"GET {follow} after posting {sent!r:.2000}"
                _assert_escaped(again, f"GET {follow}")


def _forms(http, url: str) -> list[Form]:
    """The page's forms, read once per test (the examples post them many times)."""
    cache = http.__dict__.setdefault("fuzz_forms", {})
    if url not in cache:
        page = http.get(url)
        assert page.status_code != 500, f"GET {url}"
        found = []
        if page.status_code == 200 and "html" in page.get("Content-Type", ""):
            found = [f for f in page_forms(page.content.decode(), url)
                     if not f.action.endswith(SESSION_ENDING)]
        cache[url] = found
    return cache[url]


def _assert_escaped(response, what: str) -> None:
    if "html" in response.get("Content-Type", ""):
        assert SCRIPT not in response.content.decode(errors="replace"), \
            f"{what} shows the markup it was sent unescaped"


@pytest.mark.parametrize("route", _client_pages(), ids=lambda r: r.name)
@FUZZ
@given(picks=picks_strategy)
def test_client_area_forms_survive_hostile_input(client_a, world_a, route, picks):
    try:
        url = route.fill(client_kwargs(route, world_a, plan=world_a.service.plan))
    except Unmapped as missing:
        pytest.fail(f"No value for <{missing}> of {route.name}: add it to urlwalk.py.")
    _fuzz_page(client_a, url, picks)


@pytest.fixture
def superuser_client(client, world_a, company):
    """An administrator, with a row of the catalog's and settings' models besides the
    client's, so that their change forms open."""
    client.force_login(AdminFactory())
    DepartmentFactory()
    group = ClientGroupFactory()
    GroupDiscountFactory(group=group)
    EnumerationItemFactory()
    TaxRateFactory(company=company)
    PromoCodeFactory()
    AgreementFactory()
    UsageFactory(service=world_a.service, period_start=date(2027, 3, 1),
                 period_end=date(2027, 4, 1))
    # A stranger's mail, so that the E-mail screen's decision forms are fuzzed too.
    receive(b"From: someone@elsewhere.example\r\nSubject: Fuzz\r\n\r\nHello\r\n",
            route="pipe", now=timezone.now())
    # An exchange rate (issue 15), so that its change form is fuzzed too.
    from billing.currencies import currencies_ensure
    from billing.models import ExchangeRate

    currencies_ensure()
    ExchangeRate.objects.create(base_id="EUR", quote_id="USD", valid_on=date(2027, 3, 1),
                                rate=Decimal("1.1"))
    return client


@pytest.mark.parametrize("route", _staff_pages(), ids=lambda r: r.name)
@FUZZ_STAFF
@given(picks=picks_strategy)
def test_staff_forms_survive_hostile_input(superuser_client, world_a, route, picks):
    try:
        url = _staff_url(route, world_a)
    except (LookupError, NoReverseMatch):
        url = None
    if url is None:
        pytest.skip(f"no row to open {route.name} with")
    _fuzz_page(superuser_client, url, picks)

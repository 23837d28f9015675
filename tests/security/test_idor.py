"""The IDOR sweep: every client-area URL that takes an id, read from the URLconf, opened
and posted by client A with client B's ids, answers 404 and changes nothing of B's.

A new URL is covered without being listed here: its ids are filled from the table in
urlwalk.py by name, and a name the table does not know fails the sweep, so whoever adds
the URL says which of B's rows it takes."""

from __future__ import annotations

import pytest

from tests.factories.services import PlanFactory
from tests.security.urlwalk import (
    NOT_CLIENT_OWNED,
    Route,
    Unmapped,
    client_area_routes,
    client_kwargs,
    client_rows,
)

pytestmark = pytest.mark.django_db

POST_DATA = {
    "name": "Hijacked", "kind": "individual", "email": "hijack@example.com",
    "period": "month", "plan": "", "pay_with": "balance", "idempotency_key": "idor",
    "hostname": "hijack.example", "ns1": "ns1.evil.example", "ns2": "ns2.evil.example",
    "method": "", "amount": "10", "reason": "idor",
}


def _id_routes() -> list[Route]:
    return [r for r in client_area_routes() if r.kwargs and r.name not in NOT_CLIENT_OWNED]


def _values(route: Route, world, foreign_plan) -> dict[str, object]:
    try:
        return client_kwargs(route, world, plan=foreign_plan)
    except Unmapped as missing:
        pytest.fail(f"The IDOR sweep does not know which row fills <{missing}> of "
                    f"{route.name} ({route.route}): add it to PK_BY_URL or BY_KWARG in "
                    "tests/security/urlwalk.py.")


def test_the_sweep_reaches_every_kind_of_row():
    """A guard on the sweep itself: it must not quietly shrink to nothing."""
    names = {r.name for r in _id_routes()}
    assert {"cart:remove", "billing:invoice", "payments:detail", "services:action",
            "accounts:payer_edit", "cart:order_pay"} <= names


@pytest.mark.parametrize("route", _id_routes(), ids=lambda r: r.name)
def test_another_client_s_ids_are_404_and_change_nothing(client_a, world_a, world_b, route):
    foreign_plan = PlanFactory()  # a plan of another provider: not orderable by A
    foreign = route.fill(_values(route, world_b, foreign_plan))
    own = route.fill(_values(route, world_a, foreign_plan))
    before = client_rows(world_b.client)

    got = client_a.get(foreign)
    posted = client_a.post(foreign, POST_DATA)
    htmx = client_a.post(foreign, POST_DATA, HTTP_HX_REQUEST="true")

    # A POST-only view refuses a GET whatever the id (405); that tells nothing.
    own_get = client_a.get(own).status_code
    assert got.status_code == 404 or (got.status_code == own_get == 405), \
        f"GET {foreign}: {got.status_code}"
    assert posted.status_code == 404, f"POST {foreign}: {posted.status_code}"
    assert htmx.status_code == 404, f"htmx POST {foreign}: {htmx.status_code}"
    assert client_rows(world_b.client) == before
    for response in (got, posted, htmx):
        body = response.content.decode(errors="replace")
        assert world_b.payer.name not in body
        assert world_b.owner.user.email not in body

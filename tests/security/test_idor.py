"""The IDOR sweep: every client-area URL that takes an id, read from the URLconf, opened
and posted by client A with client B's ids, answers 404 and changes nothing of B's.

A new URL is covered without being listed here: its ids are filled from the table
below by name, and a name the table does not know fails the sweep, so whoever adds the
URL says which of B's rows it takes."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db.models import ForeignKey

from accounts.models import Client
from billing.models import LedgerAccount
from cart.models import CartItem
from tests.factories.services import PlanFactory
from tests.security.urlwalk import Route, client_area_routes

pytestmark = pytest.mark.django_db

# URL kwarg -> which of the other client's rows fills it. ``pk`` means a different row
# in each app, so it is looked up by the URL's name first.
PK_BY_URL = {
    "accounts:payer_edit": "payer", "accounts:payer_make_default": "payer",
    "accounts:payer_delete": "payer",
    "accounts:user_edit": "member", "accounts:user_remove": "member",
    "services:detail": "service", "services:nameservers": "service",
    "services:configure": "service", "services:action": "service",
    "billing:invoice": "invoice", "billing:invoice_pdf": "invoice",
    "billing:invoice_document": "invoice",
    "billing:closing_document": "closing", "billing:closing_document_pdf": "closing",
    "billing:closing_document_print": "closing",
    "billing:credit_note": "credit_note", "billing:credit_note_pdf": "credit_note",
    "billing:credit_note_print": "credit_note",
    "billing:service_charges": "service",
    "payments:saved_method_remove": "saved", "payments:saved_method_default": "saved",
    "payments:detail": "payment", "payments:return": "payment", "payments:cancel": "payment",
    "payments:invoice_pay": "advance_invoice", "payments:invoice_cancel": "advance_invoice",
    "cart:order": "order", "cart:order_pay": "order", "cart:order_cancel": "order",
}
BY_KWARG = {
    "item_id": lambda w: w.cart_item.pk,
    "service_id": lambda w: w.service.pk,
    "token": lambda w: w.payment.return_token,
    "action": lambda w: "delete",  # the most harmful of the service actions
}

# Not the client area's: reached without a client's session, guarded otherwise.
NOT_CLIENT_OWNED = {
    "payments:sandbox_page": "the sandbox gateway's hosted page: its reference is an "
                             "unguessable token, as at a real gateway",
    "payments:sandbox_decide": "the sandbox gateway's hosted page (see sandbox_page)",
    "payments:webhook": "gateway webhooks carry no session; a signature is verified",
}

POST_DATA = {
    "name": "Hijacked", "kind": "individual", "email": "hijack@example.com",
    "period": "month", "plan": "", "pay_with": "balance", "idempotency_key": "idor",
    "hostname": "hijack.example", "ns1": "ns1.evil.example", "ns2": "ns2.evil.example",
    "method": "", "amount": "10", "reason": "idor",
}


def _id_routes() -> list[Route]:
    return [r for r in client_area_routes() if r.kwargs and r.name not in NOT_CLIENT_OWNED]


def _values(route: Route, world, foreign_plan) -> dict[str, object]:
    values = {}
    for kwarg in route.kwargs:
        if kwarg == "pk" and route.name in PK_BY_URL:
            values[kwarg] = getattr(world, PK_BY_URL[route.name]).pk
        elif kwarg == "plan_id":
            values[kwarg] = foreign_plan.pk
        elif kwarg in BY_KWARG:
            values[kwarg] = BY_KWARG[kwarg](world)
        else:
            pytest.fail(f"The IDOR sweep does not know which row fills <{kwarg}> of "
                        f"{route.name} ({route.route}): add it to PK_BY_URL or BY_KWARG "
                        f"in {__name__}.")
    return values


def _snapshot(client: Client) -> dict[str, list[dict]]:
    """Every row of every model that belongs to ``client`` (a ``client`` foreign key),
    the cart's items and the ledger's balances."""
    rows = {}
    for model in apps.get_models():
        field = next((f for f in model._meta.get_fields() if f.name == "client"), None)
        if isinstance(field, ForeignKey) and field.related_model is Client:
            rows[model._meta.label] = list(
                model.objects.filter(client=client).order_by("pk").values())
    rows["cart items"] = list(CartItem.objects.filter(cart__client=client).order_by("pk")
                              .values())
    rows["ledger"] = list(LedgerAccount.objects.filter(client=client).order_by("pk")
                          .values("pk", "balance", "held", "credit_limit"))
    rows["client"] = list(Client.objects.filter(pk=client.pk).values())
    return rows


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
    before = _snapshot(world_b.client)

    got = client_a.get(foreign)
    posted = client_a.post(foreign, POST_DATA)
    htmx = client_a.post(foreign, POST_DATA, HTTP_HX_REQUEST="true")

    # A POST-only view refuses a GET whatever the id (405); that tells nothing.
    own_get = client_a.get(own).status_code
    assert got.status_code == 404 or (got.status_code == own_get == 405), \
        f"GET {foreign}: {got.status_code}"
    assert posted.status_code == 404, f"POST {foreign}: {posted.status_code}"
    assert htmx.status_code == 404, f"htmx POST {foreign}: {htmx.status_code}"
    assert _snapshot(world_b.client) == before
    for response in (got, posted, htmx):
        body = response.content.decode(errors="replace")
        assert world_b.payer.name not in body
        assert world_b.owner.user.email not in body

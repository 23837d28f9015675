"""Every URL pattern of the site, read from the URLconf, so the security tests cover a
new URL without anyone listing it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.apps import apps
from django.db.models import ForeignKey
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

from accounts.models import Client
from billing.models import LedgerAccount
from cart.models import CartItem


@dataclass(frozen=True)
class Route:
    name: str        # "namespace:name", or the view's dotted path when unnamed
    route: str       # the pattern's text, e.g. "finances/invoices/<int:pk>/"
    kwargs: tuple[str, ...]
    callback: object

    @property
    def is_staff(self) -> bool:
        return self.route.startswith("staff/")

    @property
    def is_auth(self) -> bool:
        return self.route.startswith("auth/")

    def fill(self, values: dict[str, object]) -> str:
        """The path with each ``<conv:kwarg>`` replaced by ``values[kwarg]``."""
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), self.route)
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), path)
        return "/" + path.replace("^", "").replace("$", "")


def routes() -> list[Route]:
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str, converters: tuple[str, ...]):
        for entry in patterns:
            text = str(entry.pattern)
            own = entry.pattern.regex.groupindex if isinstance(entry.pattern, RegexPattern) \
                else entry.pattern.converters
            kwargs = converters + tuple(own)
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                walk(entry.url_patterns, prefix + text, inner, kwargs)
            elif isinstance(entry, URLPattern):
                callback = entry.callback
                name = f"{namespace}{entry.name}" if entry.name else \
                    f"{callback.__module__}.{callback.__qualname__}"
                found.append(Route(name, prefix + text, kwargs, callback))

    walk(get_resolver().url_patterns, "", "", ())
    return found


def client_area_routes() -> list[Route]:
    return [r for r in routes() if not r.is_staff and not r.is_auth
            and not r.route.startswith(("static/", "media/"))]


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
    "support:ticket": "ticket", "support:reply": "ticket", "support:close": "ticket",
    "support:reopen": "ticket", "support:rate": "ticket", "support:attachment": "attachment",
    "support:follow": "ticket",
    "support:announcement_dismiss": "announcement",
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
    "mailgun_inbound_webhook": "an ESP's inbound e-mail webhook carries no session; basic "
                               "auth and Mailgun's signature are verified (404 until set)",
}


class Unmapped(LookupError):
    """A URL kwarg the tables above do not know."""


def client_kwargs(route: Route, world, *, plan) -> dict[str, object]:
    """The values of ``route``'s kwargs taken from ``world`` (a conftest ``World``);
    ``plan`` fills ``plan_id``."""
    values = {}
    for kwarg in route.kwargs:
        if kwarg == "pk" and route.name in PK_BY_URL:
            values[kwarg] = getattr(world, PK_BY_URL[route.name]).pk
        elif kwarg == "plan_id":
            values[kwarg] = plan.pk
        elif kwarg in BY_KWARG:
            values[kwarg] = BY_KWARG[kwarg](world)
        else:
            raise Unmapped(kwarg)
    return values


def client_rows(client: Client) -> dict[str, list[dict]]:
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


def row_counts() -> dict[str, int]:
    """How many rows each model has: what a refused request must leave as it was."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()
            if model._meta.managed and not model._meta.proxy}

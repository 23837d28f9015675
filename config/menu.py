"""The client area's menu, grouped as in the seeds (Customer, Products/Services, Finances,
Support center, Settings). An entry shows only when its page exists and the user has
the right to its area; entries of features not built yet are simply absent."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from accounts.rights import Area


@dataclass(frozen=True)
class Entry:
    label: str
    url_name: str
    area: Area | None = None


MENU: list[tuple[str, list[Entry]]] = [
    ("Customer", [
        Entry("Home", "home"),
        Entry("Account information", "accounts:account_info"),
        Entry("Payers", "accounts:payers", Area.FINANCES),
        Entry("Users", "accounts:users", Area.SETTINGS),
    ]),
    ("Products/Services", [
        Entry("Goods/Services", "services:list", Area.SERVICES),
        Entry("Order a service", "cart:catalog", Area.SERVICES),
        Entry("Cart", "cart:cart", Area.SERVICES),
    ]),
    ("Finances", [
        Entry("Orders", "cart:orders", Area.SERVICES),
        Entry("Add funds", "payments:add_funds", Area.FINANCES),
        Entry("Credits/Payments", "payments:credits", Area.FINANCES),
        Entry("Invoices", "billing:invoices", Area.FINANCES),
        Entry("Closing documents", "billing:closing_documents", Area.FINANCES),
        Entry("Expenses", "billing:expenses", Area.FINANCES),
        Entry("Promised payment", "billing:promised_payment", Area.FINANCES),
        Entry("Payment methods", "payments:saved_methods", Area.FINANCES),
    ]),
    ("Support center", [
        Entry("Open tickets", "support:tickets", Area.SUPPORT),
        Entry("Archived tickets", "support:archive", Area.SUPPORT),
    ]),
    ("Settings", [
        Entry("Password", "account_change_password"),
        Entry("Two-factor authentication", "mfa_index"),
        Entry("Active sessions", "usersessions_list"),
        Entry("E-mail addresses", "account_email"),
    ]),
]


def client_menu(request) -> dict:
    context = getattr(request, "client_context", None)
    if context is None:
        return {}
    sections = []
    for title, entries in MENU:
        items = []
        for entry in entries:
            if entry.area is not None and not context.can(entry.area):
                continue
            try:
                url = reverse(entry.url_name)
            except NoReverseMatch:
                continue
            items.append({"label": entry.label, "url": url, "current": False})
        if items:
            sections.append({"title": title, "items": items})
    _mark_current(sections, request.path)
    return {"client_menu": sections}


def _mark_current(sections: list[dict], path: str) -> None:
    """The entry whose address is the longest prefix of the path is the current one."""
    matches = [item for section in sections for item in section["items"]
               if path == item["url"] or (item["url"] != "/" and path.startswith(item["url"]))]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["current"] = True

"""A client's whole picture for staff: the header and one section per kind of record.

Each section is the latest ``LIMIT`` rows of one query (one more is read to know whether
there are more), shown only to staff holding the section's view permission; the rest is
in the staff panel's list, filtered to the client. So the page costs the same number of
queries for a client with five services as for one with five thousand, and support staff,
who hold no money permission, see no money.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import ActionLog, Client, User
from backoffice.models import ClientNote
from billing.models import Charge, ClosingDocument, CreditNote, Invoice, LedgerAccount
from billing.selectors import account_get, movements, promised_payment_offer
from cart.models import Order
from payments.models import Payment, Refund
from services.models import Service
from services.selectors import client_is_active
from support.selectors import staff_tickets

LIMIT = 20

# The view permission that opens the header's money (balance, credit limit, available).
MONEY_PERMISSION = "billing.view_ledgeraccount"
PROMISE_PERMISSION = "billing.view_promisedpayment"


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    permission: str
    rows: Callable[[Client, User], QuerySet]
    # The staff panel's list of these records, filtered to the client by ``list_filter``.
    list_url_name: str = ""
    list_filter: str = "client__id__exact"


@dataclass
class Section:
    key: str
    title: str
    rows: list
    has_more: bool
    list_url: str


SECTIONS: list[SectionSpec] = [
    SectionSpec("services", _("Services"), "services.view_service",
                lambda client, user: Service.objects.filter(client=client)
                .select_related("plan").order_by("-created_at", "-id"),
                "admin:services_service_changelist"),
    SectionSpec("orders", _("Orders"), "cart.view_order",
                lambda client, user: Order.objects.filter(client=client)
                .select_related("invoice").order_by("-created_at", "-id"),
                "admin:cart_order_changelist"),
    SectionSpec("invoices", _("Invoices"), "billing.view_invoice",
                lambda client, user: Invoice.objects.filter(client=client)
                .select_related("company").order_by("-created_at", "-id"),
                "admin:billing_invoice_changelist"),
    SectionSpec("closing", _("Closing documents"), "billing.view_closingdocument",
                lambda client, user: ClosingDocument.objects.filter(client=client)
                .select_related("company").order_by("-period_start", "-id"),
                "admin:billing_closingdocument_changelist"),
    SectionSpec("credit_notes", _("Credit notes"), "billing.view_creditnote",
                lambda client, user: CreditNote.objects.filter(client=client)
                .select_related("invoice").order_by("-issued_at", "-id"),
                "admin:billing_creditnote_changelist"),
    SectionSpec("payments", _("Payments"), "payments.view_payment",
                lambda client, user: Payment.objects.filter(client=client)
                .select_related("method").order_by("-created_at", "-id"),
                "admin:payments_payment_changelist"),
    # Refunds' own list has no client filter: their payments' list is the way there.
    SectionSpec("refunds", _("Refunds"), "payments.view_refund",
                lambda client, user: Refund.objects.filter(payment__client=client)
                .select_related("payment").order_by("-created_at", "-id")),
    SectionSpec("expenses", _("Expenses"), "billing.view_charge",
                lambda client, user: Charge.objects.filter(client=client)
                .select_related("service").order_by("-created_at", "-id"),
                "admin:billing_charge_changelist"),
    SectionSpec("ledger", _("Ledger movements"), MONEY_PERMISSION,
                lambda client, user: movements(client=client, limit=LIMIT + 1)),
    SectionSpec("tickets", _("Tickets"), "support.view_ticket",
                # Support staff see the tickets of the queues they work, here too.
                lambda client, user: staff_tickets(user).filter(client=client)
                .select_related("department", "assignee").order_by("-updated_at", "-id"),
                "admin:support_ticket_changelist"),
    SectionSpec("users", _("Users"), "accounts.view_clientuser",
                lambda client, user: client.memberships.select_related("user")
                .order_by("-is_owner", "created_at", "id")),
    SectionSpec("payers", _("Payers"), "accounts.view_payer",
                lambda client, user: client.payers.order_by("-is_default", "name", "id"),
                "admin:accounts_payer_changelist"),
    SectionSpec("notes", _("Notes"), "backoffice.view_clientnote",
                lambda client, user: ClientNote.objects.filter(client=client)
                .order_by("-created_at", "-id")),
    SectionSpec("log", _("Action log"), "accounts.view_actionlog",
                lambda client, user: ActionLog.objects.filter(client=client)
                .select_related("impersonator").order_by("-created_at", "-id"),
                "admin:accounts_actionlog_changelist"),
]


def _list_url(spec: SectionSpec, client: Client) -> str:
    if not spec.list_url_name:
        return ""
    return f"{reverse(spec.list_url_name)}?{spec.list_filter}={client.pk}"


def client_sections(client: Client, user: User) -> list[Section]:
    """The sections the user may see, each the latest ``LIMIT`` rows: one query each."""
    sections = []
    for spec in SECTIONS:
        if not user.has_perm(spec.permission):
            continue
        rows = spec.rows(client, user)
        # movements() arrives sliced already; the others are sliced here.
        rows = list(rows if rows.query.high_mark is not None else rows[:LIMIT + 1])
        sections.append(Section(key=spec.key, title=str(spec.title), rows=rows[:LIMIT],
                                has_more=len(rows) > LIMIT, list_url=_list_url(spec, client)))
    return sections


@dataclass
class Header:
    client: Client
    is_active: bool
    account: LedgerAccount | None = None
    promise: object | None = None
    groups: list = field(default_factory=list)


def client_header(client: Client, user: User, *, as_of: date) -> Header:
    """Status, provider and groups for everyone who may see the client; the balance, credit
    limit, what is available (billing's own rule, ``LedgerAccount.available``) and the
    running promised payment only with their view permissions."""
    header = Header(client=client, is_active=client_is_active(client),
                    groups=list(client.groups.all()))
    if user.has_perm(MONEY_PERMISSION):
        header.account = account_get(client)
    if user.has_perm(PROMISE_PERMISSION):
        header.promise = promised_payment_offer(client, as_of).running
    return header

"""A client's page in the staff panel: what each department sees on it, that it stays a
fixed number of queries whatever the client's size, and its append-only notes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money

from accounts.actionlog import log_action
from backoffice.models import ClientNote
from billing.ledger import Leg, account_debit, system_account
from billing.models import AccountKind, TransactionKind
from services.models import ServiceStatus
from support.models import TicketStatus
from tests.factories.accounts import (
    ClientFactory,
    ClientUserFactory,
    CompanyFactory,
    PayerFactory,
)
from tests.factories.billing import set_credit_limit, top_up
from tests.factories.services import ServiceFactory
from tests.factories.support import SupportDepartmentFactory, TicketFactory

pytestmark = pytest.mark.django_db

MONEY_SECTIONS = {"invoices", "closing", "credit_notes", "payments", "refunds", "expenses",
                  "ledger", "orders"}


def _page(client, pk):
    return client.get(reverse("admin:accounts_client_overview", args=[pk]))


def _charge(customer, amount: str, key: str):
    company = CompanyFactory()
    revenue = system_account(AccountKind.REVENUE, customer.currency, company=company)
    account_debit(client=customer, amount=Money(amount, customer.currency),
                  counter=[Leg(revenue, Money(amount, customer.currency))],
                  kind=TransactionKind.CHARGE, description=f"Charge {key}",
                  idempotency_key=key)


@pytest.fixture
def customer():
    """A client with a bit of everything: services, users, payers, money, a ticket."""
    customer = ClientFactory(name="Acme Hosting Ltd")
    ClientUserFactory(client=customer, owner=True)
    PayerFactory(client=customer, name="Acme Payer", is_default=True)
    ServiceFactory(client=customer, name="vps-1.acme.example")
    top_up(customer, "100.00")
    set_credit_limit(customer, "25.00")
    _charge(customer, "30.00", "page-charge-1")
    return customer


def test_an_unknown_client_is_404_and_staff_without_the_right_get_403(client, staff_in,
                                                                       customer):
    staff_in("admin")
    assert _page(client, customer.pk + 1000).status_code == 404
    staff_in(None)
    assert _page(client, customer.pk).status_code == 403


def test_accounting_sees_the_balance_credit_limit_and_available(client, staff_in, customer):
    staff_in("Accounting")
    response = _page(client, customer.pk)
    assert response.status_code == 200
    header = response.context["header"]
    # 100 paid in, 30 charged; 25 of credit: 95 may still be spent.
    assert header.account.balance == Decimal("70.00")
    assert header.account.credit_limit == Decimal("25.00")
    assert header.account.available.amount == Decimal("95.00")
    html = response.content.decode()
    assert "70.00 USD" in html
    assert "95.00 USD" in html
    keys = {section.key for section in response.context["sections"]}
    assert {"invoices", "payments", "expenses", "ledger", "payers"} <= keys
    labels = [action["label"] for action in response.context["actions"]]
    assert "Credit or debit the balance" in labels
    assert "Set the credit limit" in labels
    assert "Enter as client" not in labels  # Accounting may not impersonate


def test_technical_support_sees_services_and_tickets_but_no_money(client, staff_in, customer):
    SupportDepartmentFactory()  # worked by Technical support
    TicketFactory(client=customer, subject="Disk is full", department=SupportDepartmentFactory())
    other = SupportDepartmentFactory(slug="sales", name="Sales questions",
                                     staff_departments=["Sales"])
    TicketFactory(client=customer, subject="Discount please", department=other)
    staff_in("Technical support")
    response = _page(client, customer.pk)
    assert response.status_code == 200
    assert response.context["header"].account is None
    keys = {section.key for section in response.context["sections"]}
    assert {"services", "tickets", "users", "notes"} <= keys
    assert not keys & MONEY_SECTIONS
    html = response.content.decode()
    for money in ("Balance", "Credit limit", "Available", "70.00", "Ledger movements",
                  "Payments", "Invoices"):
        assert money not in html
    assert "vps-1.acme.example" in html
    # Support sees the tickets of the queues it works, not the others'.
    assert "Disk is full" in html
    assert "Discount please" not in html
    labels = [action["label"] for action in response.context["actions"]]
    assert "Enter as client" in labels
    assert "Credit or debit the balance" not in labels


def test_an_administrator_sees_every_section(client, staff_in, customer):
    staff_in("admin")
    response = _page(client, customer.pk)
    keys = [section.key for section in response.context["sections"]]
    assert keys == ["services", "orders", "invoices", "closing", "credit_notes", "payments",
                    "refunds", "expenses", "ledger", "tickets", "users", "payers", "notes",
                    "log"]


def test_each_section_shows_the_latest_twenty_and_links_to_the_full_list(client, staff_in):
    customer = ClientFactory()
    old = timezone.now() - timedelta(days=30)
    ServiceFactory.create_batch(21, client=customer, created_at=old)
    newest = ServiceFactory(client=customer, name="newest.example")
    staff_in("admin")
    response = _page(client, customer.pk)
    services = next(s for s in response.context["sections"] if s.key == "services")
    assert len(services.rows) == 20
    assert services.has_more
    assert services.rows[0] == newest
    assert services.list_url.endswith(f"?client__id__exact={customer.pk}")
    listing = client.get(services.list_url)
    assert listing.status_code == 200
    assert "newest.example" in listing.content.decode()


def _client_of_size(services: int):
    customer = ClientFactory()
    ClientUserFactory(client=customer, owner=True)
    PayerFactory(client=customer)
    ServiceFactory.create_batch(services, client=customer)
    for i in range(services // 5):
        top_up(customer, "10.00")
        _charge(customer, "1.00", f"size-{customer.pk}-{i}")
        TicketFactory(client=customer, status=TicketStatus.NEW)
        log_action(actor=None, action="client.details_changed", obj=customer)
        ClientNote.objects.create(client=customer, author_label="x", text="n",
                                  key=f"{customer.pk}-{i}")
    return customer


def test_the_page_costs_the_same_queries_for_5_and_for_50_services(client, staff_in):
    staff_in("admin")
    small, large = _client_of_size(5), _client_of_size(50)
    _page(client, small.pk)  # warm caches (content types, permissions)
    counts = []
    for customer in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert _page(client, customer.pk).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 40


def test_a_note_is_written_once_and_never_changed(client, staff_in, customer):
    author = staff_in("Technical support")
    url = reverse("admin:accounts_client_note", args=[customer.pk])
    for _ in range(2):  # a double submit
        response = client.post(url, {"text": "Called about the invoice.", "key": "k1"})
        assert response.status_code == 302
    note = ClientNote.objects.get()
    assert (note.client, note.author, note.text) == (customer, author,
                                                     "Called about the invoice.")
    page = _page(client, customer.pk).content.decode()
    assert "Called about the invoice." in page
    note.text = "Rewritten"
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic():
        note.save()


@pytest.mark.parametrize(("text", "key"), [("", "k2"), ("   ", "k3"), ("x" * 5001, "k4"),
                                       ("Fine", ""), ("Fine", "k" * 65)])
def test_a_bad_note_changes_nothing(client, staff_in, customer, text, key):
    staff_in("Technical support")
    response = client.post(reverse("admin:accounts_client_note", args=[customer.pk]),
                           {"text": text, "key": key}, follow=True)
    assert response.status_code == 200
    assert ClientNote.objects.count() == 0
    assert list(response.context["messages"])


def test_a_note_key_of_another_client_is_refused(client, staff_in, customer):
    staff_in("admin")
    other = ClientFactory()
    client.post(reverse("admin:accounts_client_note", args=[other.pk]),
                {"text": "Other", "key": "same"})
    client.post(reverse("admin:accounts_client_note", args=[customer.pk]),
                {"text": "Replayed", "key": "same"})
    assert list(ClientNote.objects.values_list("client", "text")) == [(other.pk, "Other")]


def test_the_client_list_and_change_form_link_to_the_page(client, staff_in, customer):
    staff_in("Sales")
    page = reverse("admin:accounts_client_overview", args=[customer.pk])
    assert page in client.get(reverse("admin:accounts_client_changelist")).content.decode()
    change = client.get(reverse("admin:accounts_client_change", args=[customer.pk]))
    assert page in change.content.decode()


def test_services_show_status_and_expiry(client, staff_in):
    customer = ClientFactory()
    ServiceFactory(client=customer, name="stopped.example", status=ServiceStatus.SUSPENDED,
                   suspend_reason="nonpayment", expires_on=timezone.localdate())
    staff_in("Technical support")
    html = _page(client, customer.pk).content.decode()
    assert "Suspended for non-payment" in html
    assert f"{timezone.localdate():%Y-%m-%d}" in html

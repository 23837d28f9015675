"""Two clients of the same provider, each with one of everything a client owns, for the
security suite: client A signs in and reaches for client B's ids."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from djmoney.money import Money

from accounts.models import Client, ClientUser, Payer
from billing.invoicing import LineSpec, credit_note_issue, invoice_issue
from billing.models import ClosingDocument, CreditNote, Invoice, InvoiceKind
from cart import operations
from cart.checkout import order_create
from cart.models import CartItem, Order
from payments.models import Payment, PaymentMethod, SavedPaymentMethod
from payments.processing import payment_create
from services.models import Service
from support import tickets
from support.models import (
    Announcement,
    AnnouncementAudience,
    Attachment,
    SupportDepartment,
    Ticket,
)
from tests.factories.accounts import ClientUserFactory, PayerFactory
from tests.factories.billing import top_up
from tests.factories.services import ServiceFactory

NOW = datetime(2027, 3, 10, 12, tzinfo=UTC)


@dataclass
class World:
    """One client with a row of every kind the client area shows by id."""

    owner: ClientUser
    member: ClientUser
    client: Client
    service: Service
    order: Order
    invoice: Invoice
    advance_invoice: Invoice
    credit_note: CreditNote
    closing: ClosingDocument
    payer: Payer
    cart_item: CartItem
    payment: Payment
    saved: SavedPaymentMethod
    ticket: Ticket
    attachment: Attachment
    announcement: Announcement  # shown to this client only (the audience: its service)


def _world(provider, company, plan, method: PaymentMethod) -> World:
    owner = ClientUserFactory(owner=True, client__provider=provider)
    client = owner.client
    member = ClientUserFactory(client=client)
    payer = PayerFactory(client=client)
    top_up(client, "500.00")
    service = ServiceFactory(client=client, plan=plan)
    raw = {f"addon_{plan.disk.pk}": "40"}
    ordered = operations.cart_add_new(
        client=client, today=NOW.date(), plan=plan, period="month", raw_values=raw,
        parameters={"hostname": f"ordered-{uuid.uuid4().hex[:6]}.example"}, user=owner.user)
    order = order_create(client=client, user=owner.user, idempotency_key=uuid.uuid4().hex,
                         now=NOW, item_ids=[ordered.item.pk])
    in_cart = operations.cart_add_new(
        client=client, today=NOW.date(), plan=plan, period="month", raw_values=raw,
        parameters={"hostname": f"cart-{uuid.uuid4().hex[:6]}.example"}, user=owner.user)
    invoice = invoice_issue(company=company, client=client, kind=InvoiceKind.SERVICES,
                            lines=[LineSpec("Web hosting", Money("20.00", "USD"))], now=NOW)
    credit_note = credit_note_issue(invoice=invoice, amount=Money("5.00", "USD"),
                                    reason="Goodwill", now=NOW)
    payment, _ = payment_create(client=client, method=method, amount=Money("25.00", "USD"),
                                idempotency_key=uuid.uuid4().hex, user=owner.user)
    closing = ClosingDocument.objects.create(
        company=company, client=client, number=f"CL-{uuid.uuid4().hex[:8]}",
        period_start=date(2027, 2, 1), period_end=date(2027, 3, 1), currency="USD",
        subtotal=Decimal("10.00"), tax_total=Decimal(0), total=Decimal("10.00"), issued_at=NOW)
    saved = SavedPaymentMethod.objects.create(
        client=client, method=method, token=f"tok_{uuid.uuid4().hex}", label="Visa 4242")
    department, _ = SupportDepartment.objects.get_or_create(
        slug="technical", defaults={"name": "Technical support"})
    ticket = tickets.ticket_open(
        client=client, user=owner.user, department=department, service=service,
        subject="Help", body="Please.", now=NOW,
        attachments=[SimpleUploadedFile("shot.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)])
    announcement = Announcement.objects.create(
        title=f"For {client.name} only", body="Yours.", starts_at=NOW, show_on_sign_in=True,
        audience=AnnouncementAudience.SERVICES)
    announcement.audience_services.add(service)
    return World(owner=owner, member=member, client=client, service=service, order=order,
                 invoice=invoice, advance_invoice=payment.invoice, credit_note=credit_note,
                 closing=closing, payer=payer, cart_item=in_cart.item, payment=payment,
                 saved=saved, ticket=ticket,
                 attachment=ticket.messages.get().attachments.get(),
                 announcement=announcement)


@pytest.fixture
def _support_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # the worlds' ticket attachments


@pytest.fixture
def world_a(db, provider, company, vps_plan, sandbox_method, _support_media):
    return _world(provider, company, vps_plan, sandbox_method)


@pytest.fixture
def world_b(db, provider, company, vps_plan, sandbox_method, _support_media):
    return _world(provider, company, vps_plan, sandbox_method)


@pytest.fixture
def client_a(client, world_a):
    """Django's test client signed in as client A's owner."""
    client.force_login(world_a.owner.user)
    return client

"""Demo support center for `manage.py seed_demo`: departments, categories and tickets in
several states. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Client, Department, User
from services.models import ProductType
from support import tickets
from support.models import (
    Announcement,
    AnnouncementLevel,
    Category,
    Priority,
    SupportDepartment,
)


@transaction.atomic
def seed() -> None:
    technical, _ = SupportDepartment.objects.get_or_create(
        slug="technical", defaults={"name": "Technical support", "position": 1,
                                    "email": "support@example.com"})
    billing, _ = SupportDepartment.objects.get_or_create(
        slug="billing", defaults={"name": "Billing questions", "position": 2,
                                  "email": "billing@example.com"})
    sales, _ = SupportDepartment.objects.get_or_create(
        slug="sales", defaults={"name": "Sales", "position": 3, "email": "sales@example.com"})
    for department, staff in [(technical, ["Technical support"]),
                              (billing, ["Technical support", "Accounting"]),
                              (sales, ["Technical support", "Sales"])]:
        department.staff_departments.add(*Department.objects.filter(name__in=staff))
    for name, department in [("Server does not respond", technical),
                             ("DNS and domains", technical), ("Invoices and payments", billing),
                             ("Before you order", sales)]:
        Category.objects.get_or_create(name=name, defaults={"department": department})

    seed_announcements(timezone.now())

    client = Client.objects.get(email="client@example.com")
    if client.tickets.exists():
        return
    owner = client.memberships.get(is_owner=True).user
    staff = User.objects.get(email="support@example.com")
    service = client.services.order_by("pk").first()
    now = timezone.now()

    waiting = tickets.ticket_open(
        client=client, user=owner, department=technical, service=service,
        category=Category.objects.get(name="Server does not respond"), priority=Priority.HIGH,
        subject="The server does not answer on port 443",
        body="Since this morning HTTPS times out; SSH works.", now=now - timedelta(hours=5))
    tickets.ticket_note(ticket=waiting, user=staff, body="Firewall rule changed yesterday?",
                        now=now - timedelta(hours=4))
    tickets.ticket_reply_staff(ticket=waiting, user=staff,
                               body="Could you run `ss -tlnp` and send us the output?",
                               now=now - timedelta(hours=3))

    tickets.ticket_open(client=client, user=owner, department=billing,
                        subject="A copy of last month's invoice",
                        body="Please send the invoice with our VAT number on it.",
                        now=now - timedelta(minutes=30))

    done = tickets.ticket_open(client=client, user=owner, department=technical,
                               subject="Add a reverse DNS record",
                               body="PTR for 10.20.0.11 to web-1.dana.example, please.",
                               now=now - timedelta(days=3))
    tickets.ticket_reply_staff(ticket=done, user=staff, body="Done; it may take an hour.",
                               now=now - timedelta(days=2, hours=20))
    tickets.ticket_close(ticket=done, now=now - timedelta(days=2))
    tickets.ticket_rate(ticket=done, rating=5, comment="Fast, thank you.")


# Announcements -------------------------------------------------------------------------------


def seed_announcements(now) -> None:
    """A maintenance window shown now (and after sign-in), one that is over, and an incident
    that pauses new tickets about DNS hosting, which the demo client does not use (so its
    ticket form still works)."""
    demo = [
        {"title": "Network maintenance in Frankfurt on Sunday night",
         "level": AnnouncementLevel.MAINTENANCE, "show_on_sign_in": True,
         "starts_at": now - timedelta(hours=2), "ends_at": now + timedelta(days=3),
         "body": "<p>On Sunday from <strong>01:00 to 03:00 UTC</strong> we replace the core "
                 "switches in Frankfurt. Virtual servers there may lose network for up to "
                 "<strong>10 minutes</strong>; nothing needs to be done on your side.</p>"
                 "<p>Follow the work on <a href=\"https://status.example.com\">our status "
                 "page</a>.</p>"},
        {"title": "Control panel upgrade finished",
         "level": AnnouncementLevel.INFO,
         "starts_at": now - timedelta(days=14), "ends_at": now - timedelta(days=10),
         "body": "The hosting control panel now runs version 2.4.\nThank you for your "
                 "patience during the upgrade."},
        {"title": "DNS hosting: resolvers in Frankfurt answer slowly",
         "level": AnnouncementLevel.INCIDENT, "starts_at": now - timedelta(minutes=40),
         "body": "Queries to ns1.example.net time out now and then since 10:20 UTC. "
                 "Engineers are on it; ns2 answers normally.",
         "blocks_product_types": [ProductType.DNS],
         "block_reason": "We know about the slow DNS resolvers in Frankfurt and are working on "
                         "it; follow the updates at https://status.example.com."},
    ]
    for fields in demo:
        title = fields.pop("title")
        Announcement.objects.get_or_create(title=title, defaults=fields)

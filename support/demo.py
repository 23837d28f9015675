"""Demo support center for `manage.py seed_demo`: departments, categories and tickets in
several states. Idempotent."""

from __future__ import annotations

from datetime import date, time, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Client, Department, User
from support import tickets
from support.autoclose import autoclose
from support.escalation import escalate
from support.models import (
    BusinessCalendar,
    BusinessHours,
    Category,
    Holiday,
    Priority,
    SlaPolicy,
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

    _seed_sla(technical=technical, billing=billing)

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
    _seed_sla_tickets(client=client, owner=owner, staff=staff, technical=technical, now=now)


# --- SLA (issue 14, SLA part): office hours, targets, an escalation, an auto-close warning


def _seed_sla(*, technical, billing) -> None:
    office, created = BusinessCalendar.objects.get_or_create(
        name="Office hours (Berlin)", defaults={"time_zone": "Europe/Berlin"})
    if created:
        BusinessHours.objects.bulk_create([
            BusinessHours(calendar=office, weekday=day, opens=time(9), closes=time(18))
            for day in range(5)])
        Holiday.objects.bulk_create([
            Holiday(calendar=office, date=date(year, month, day), name=name)
            for year in (2026, 2027) for month, day, name in [
                (1, 1, "New Year"), (5, 1, "Labour Day"), (10, 3, "German Unity Day"),
                (12, 25, "Christmas Day"), (12, 26, "Boxing Day")]])
    for department in (technical, billing):
        if department.calendar_id is None:
            department.calendar = office
            department.autoclose_days, department.autoclose_warning_days = 7, 2
            department.save(update_fields=["calendar", "autoclose_days",
                                           "autoclose_warning_days"])
    for department, priority, first, resolution in [
            (technical, Priority.LOW, 8 * 60, 40 * 60),
            (technical, Priority.NORMAL, 4 * 60, 24 * 60),
            (technical, Priority.HIGH, 60, 8 * 60), (technical, Priority.URGENT, 15, 2 * 60),
            (billing, Priority.NORMAL, 8 * 60, 48 * 60)]:
        SlaPolicy.objects.get_or_create(
            department=department, priority=priority, client_group=None,
            defaults={"first_response_minutes": first, "resolution_minutes": resolution})


def _seed_sla_tickets(*, client, owner, staff, technical, now) -> None:
    unanswered = tickets.ticket_open(
        client=client, user=owner, department=technical,
        subject="Mail to Gmail bounces with 550 5.7.26",
        body="Since Monday every message to Gmail addresses bounces.",
        now=now - timedelta(days=3))
    tickets.ticket_reply_client(ticket=unanswered, user=owner, body="Still bouncing today.",
                                now=now - timedelta(days=1))
    quiet = tickets.ticket_open(
        client=client, user=owner, department=technical, subject="Upgrade PHP to 8.3",
        body="Please upgrade PHP on web-1 to 8.3.", now=now - timedelta(days=7))
    tickets.ticket_reply_staff(ticket=quiet, user=staff,
                               body="Done: PHP 8.3 is active. Does the site work as expected?",
                               now=now - timedelta(days=6))
    # What the beat would have done by now: the breach escalated, the client warned.
    escalate(now=now)
    autoclose(now=now)

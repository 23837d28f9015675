"""Demo support center for `manage.py seed_demo`: departments, categories and tickets in
several states. Idempotent."""

from __future__ import annotations

from datetime import date, time, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Client, Department, User
from services.models import ProductType
from support import followers, merge, tickets, transfer
from support.autoclose import autoclose
from support.escalation import escalate
from support.inbound import receive
from support.models import (
    Announcement,
    AnnouncementLevel,
    AnswerTemplate,
    BusinessCalendar,
    BusinessHours,
    Category,
    Holiday,
    MailGateway,
    Priority,
    SlaPolicy,
    SubscriptionLevel,
    SupportDepartment,
    TemplateScope,
)
from support.spam import spam_rules_default
from support.subscriptions import subscriptions_set


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
    _gateways(technical, billing)

    _seed_answer_templates(technical=technical, billing=billing)
    _seed_sla(technical=technical, billing=billing)

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
    _seed_outgoing(waiting=waiting, staff=staff, now=now)
    _seed_sla_tickets(client=client, owner=owner, staff=staff, technical=technical, now=now)


# --- Answer templates (issue 14, reply form) ----------------------------------------------


def _seed_answer_templates(*, technical: SupportDepartment, billing: SupportDepartment) -> None:
    staff = User.objects.get(email="support@example.com")
    for name, scope, department, owner, body in [
        ("Greeting", TemplateScope.EVERYONE, None, None,
         "Hello {{ client_name }},\n\nthank you for writing to us about ticket "
         "{{ ticket_number }}.\n\nBest regards,\n{{ staff_name }}"),
        ("Server: please send diagnostics", TemplateScope.DEPARTMENT, technical, None,
         "Hello {{ client_name }},\n\nto look into {{ service_name }} we need the output of "
         "`uptime`, `df -h` and `ss -tlnp`. Please paste it in your reply.\n\n"
         "{{ staff_name }}"),
        ("Invoice copy sent", TemplateScope.DEPARTMENT, billing, None,
         "Hello {{ client_name }},\n\nthe invoice is attached and also in the client area "
         "under Finance.\n\n{{ staff_name }}"),
        ("My signature", TemplateScope.PERSONAL, None, staff,
         "--\n{{ staff_name }}, technical support"),
    ]:
        AnswerTemplate.objects.get_or_create(
            name=name, scope=scope, department=department, owner=owner,
            defaults={"body": body})


# Mail out (issue 14, outgoing): staff's ticket e-mail choices and a follower.
def _seed_outgoing(*, waiting, staff, now) -> None:
    levels = {department.pk: level for slug, level in [
        ("technical", SubscriptionLevel.ALL), ("billing", SubscriptionLevel.ASSIGNED),
        ("sales", SubscriptionLevel.NONE)]
        for department in SupportDepartment.objects.filter(slug=slug)}
    subscriptions_set(user=staff, levels=levels)
    colleague = User.objects.filter(email="colleague@example.com").first()
    if colleague is not None:
        followers.ticket_follow(ticket=waiting, user=colleague, now=now)


# --- Spam rules and the E-mail screen (issue 14, spam and triage) ---

DEMO_MAIL = [
    ("<demo-mail-1@startup.example>", "Maria Lopez <maria@startup.example>",
     "Do you offer Windows VPS?", "", 50,
     "Hello,\n\nwe need two Windows servers for a small office. Do you offer them, and "
     "what would they cost a month?\n\nMaria"),
    ("<demo-mail-2@dana-studio.example>", "Ops Team <ops@dana-studio.example>",
     "Re: {token} The server does not answer on port 443", "", 40,
     "Here is the output you asked for:\n\nLISTEN 0 511 0.0.0.0:80\nLISTEN 0 128 "
     "0.0.0.0:22\n\nPort 443 is missing.\n\n> Could you run `ss -tlnp`?"),
    ("<demo-mail-3@lottery.example>", "Prize Desk <win@lottery.example>",
     "You have won 1,000,000", "X-Spam-Flag: YES\r\n", 30, "Claim your prize today."),
    ("<demo-mail-4@pills.example>", "Pharmacy <sales@pills.example>", "Cheap pills",
     "X-Spam-Status: Yes, score=14.2 required=5.0\r\n", 20, "Buy now."),
]


def seed_mail() -> None:
    """Default spam rules, and received mail for the E-mail screen: strangers to decide on
    (one replying to a ticket) and spam the rules caught. Idempotent: each Message-ID is
    received once."""
    now = timezone.now()
    spam_rules_default(now=now)
    technical = SupportDepartment.objects.get(slug="technical")
    waiting = Client.objects.get(email="client@example.com").tickets.order_by("pk").first()
    token = waiting.subject_token if waiting is not None else ""
    for message_id, sender, subject, headers, minutes, body in DEMO_MAIL:
        raw = (f"From: {sender}\r\nTo: support@example.com\r\n"
               f"Subject: {subject.format(token=token)}\r\nMessage-ID: {message_id}\r\n"
               f"{headers}Content-Type: text/plain; charset=utf-8\r\n\r\n"
               f"{body}\r\n").encode()
        receive(raw, route="pipe", department=technical, now=now - timedelta(minutes=minutes))


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


# The queue (issue 14): a merged pair, a ticket moved to another department, tickets
# assigned and not, in several priorities. Idempotent: the merged pair marks it done.
@transaction.atomic
def seed_queue() -> None:
    client = Client.objects.get(email="client@example.com")
    if client.tickets.filter(subject="Backups fail since Monday").exists():
        return
    owner = client.memberships.get(is_owner=True).user
    staff = User.objects.get(email="support@example.com")
    technical = SupportDepartment.objects.get(slug="technical")
    billing = SupportDepartment.objects.get(slug="billing")
    now = timezone.now()
    service = client.services.order_by("pk").first()

    target = tickets.ticket_open(
        client=client, user=owner, department=technical, service=service,
        priority=Priority.URGENT, subject="Backups fail since Monday",
        body="The nightly backup of web-1 reports an error every night.",
        now=now - timedelta(hours=26))
    source = tickets.ticket_open(
        client=client, user=owner, department=technical, subject="Backup job error 42",
        body="Error 42: destination not writable. Is it the same problem?",
        now=now - timedelta(hours=20))
    merge.ticket_merge(source=source, target=target, actor=staff,
                       now=now - timedelta(hours=19))

    moved = tickets.ticket_open(
        client=client, user=owner, department=technical, priority=Priority.LOW,
        subject="Charged twice for the VPS?", body="I see two charges this month.",
        now=now - timedelta(hours=2))
    transfer.ticket_transfer(ticket=moved, department=billing, actor=staff,
                             reason="A question about charges, not the server.",
                             now=now - timedelta(hours=1, minutes=50))

    for subject, hours, priority in [("SSL certificate renewal", 8, Priority.NORMAL),
                                     ("Raise the PHP memory limit", 30, Priority.HIGH)]:
        tickets.ticket_open(client=client, user=owner, department=technical,
                            priority=priority, subject=subject, service=service,
                            body="Please have a look.", now=now - timedelta(hours=hours))


def _gateways(technical: SupportDepartment, billing: SupportDepartment) -> None:
    """Gateways to look at, disabled: the demo has no mail server to poll."""
    for department, user in [(technical, "support@example.com"),
                             (billing, "billing@example.com")]:
        MailGateway.objects.get_or_create(
            host="imap.example.com", port=993, username=user, folder="INBOX",
            defaults={"department": department, "security": MailGateway.Security.SSL,
                      "password": "demo-password", "is_enabled": False})


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

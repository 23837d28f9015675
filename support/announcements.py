"""Announcements to clients: who sees one, when, and which new tickets it blocks.

One rule, one function:

* ``is_shown(announcement, now)`` / ``_shown_q(now)``: shown from ``starts_at`` (inclusive)
  until ``ends_at`` (exclusive), or open-ended;
* ``announcements_for(client, now)``: the announcements a client sees: its provider's (or
  every provider's), shown now, whose audience takes the client;
* ``audience_clients(announcement)``: the same audience rule read the other way (the staff
  preview's reach); a test proves the two agree;
* ``blocking_announcement(client, service, now)``: the announcement that refuses a new ticket
  about ``service``; the client-area form and e-mail-in both ask it. A blocking applies to the
  clients who see the announcement: a client is never refused for a reason never shown.

The wall clock is never read here: callers pass ``now``.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.contrib.postgres.expressions import ArraySubquery
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.html import linebreaks
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.models import Client, User
from services.models import Service, ServiceStatus
from support import tickets
from support.models import (
    Announcement,
    AnnouncementAudience,
    AnnouncementDismissal,
    Message,
    Ticket,
)
from support.sanitize import TAGS, html_clean

# HTML when it uses a tag the sanitizer keeps; "<more>" or "a < b" in plain text stay text.
LOOKS_LIKE_HTML = re.compile(r"<\s*/?\s*(" + "|".join(sorted(TAGS)) + r")\b[^>]*>",
                             re.IGNORECASE)


def body_clean(body: str) -> str:
    """What is stored of a body staff wrote: HTML sanitized, plain text as it is."""
    body = body.strip()
    return html_clean(body) if LOOKS_LIKE_HTML.search(body) else body


def body_html(body: str) -> SafeString:
    """A body as the client reads it. Sanitized again on the way out, so a row written by
    any path (a shell, a fixture) can never carry a script to a client."""
    if LOOKS_LIKE_HTML.search(body):
        return mark_safe(html_clean(body))  # noqa: S308 - nh3 has just cleaned it
    return mark_safe(linebreaks(body, autoescape=True))  # noqa: S308 - escaped by linebreaks


def is_shown(announcement: Announcement, *, now: datetime) -> bool:
    return announcement.starts_at <= now and (announcement.ends_at is None
                                              or now < announcement.ends_at)


def _shown_q(now: datetime) -> Q:
    # The same rule as is_shown(), for the database; the table-driven test runs both.
    return Q(starts_at__lte=now) & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))


def _live_services(client: Client) -> QuerySet[Service]:
    return Service.objects.filter(client=client).exclude(status=ServiceStatus.DELETED)


def announcements_for(client: Client, *, now: datetime) -> QuerySet[Announcement]:
    """What ``client`` sees now, the most recent first."""
    # In the same query (an ARRAY subquery): the client layout runs this on every page.
    product_types = ArraySubquery(_live_services(client).values("plan__product_type"))
    chosen_service = Announcement.audience_services.through.objects.filter(
        announcement=OuterRef("pk"), service__client=client)
    chosen_group = Announcement.audience_groups.through.objects.filter(
        announcement=OuterRef("pk"), clientgroup__clients=client)
    audience = (Q(audience=AnnouncementAudience.ALL)
                | Q(audience=AnnouncementAudience.PRODUCT_TYPES,
                    audience_product_types__overlap=product_types)
                | Q(Exists(chosen_service), audience=AnnouncementAudience.SERVICES)
                | Q(Exists(chosen_group), audience=AnnouncementAudience.GROUPS))
    return (Announcement.objects.filter(_shown_q(now), audience)
            .filter(Q(provider__isnull=True) | Q(provider_id=client.provider_id))
            .order_by("-starts_at", "-id"))


def audience_clients(announcement: Announcement) -> QuerySet[Client]:
    """The clients an announcement is for, whatever the time (the staff preview's reach)."""
    clients = Client.objects.all()
    if announcement.provider_id is not None:
        clients = clients.filter(provider_id=announcement.provider_id)
    if announcement.audience == AnnouncementAudience.PRODUCT_TYPES:
        clients = clients.filter(Exists(
            Service.objects.filter(client=OuterRef("pk"),
                                   plan__product_type__in=announcement.audience_product_types)
            .exclude(status=ServiceStatus.DELETED)))
    elif announcement.audience == AnnouncementAudience.SERVICES:
        clients = clients.filter(Exists(announcement.audience_services.filter(
            client=OuterRef("pk"))))
    elif announcement.audience == AnnouncementAudience.GROUPS:
        clients = clients.filter(Exists(announcement.audience_groups.filter(
            clients=OuterRef("pk"))))
    return clients


def blocking_announcement(client: Client, service: Service | None, now: datetime
                          ) -> Announcement | None:
    """The announcement that blocks a new ticket of ``client`` about ``service`` now, if
    any: one shown to the client that names the service or its product type. A ticket about
    no service is never blocked (a blocking is about a known incident, not all support)."""
    if service is None:
        return None
    named = Announcement.blocks_services.through.objects.filter(
        announcement=OuterRef("pk"), service=service)
    return (announcements_for(client, now=now)
            .filter(Q(blocks_product_types__contains=[service.plan.product_type])
                    | Q(Exists(named)))
            .first())


def signin_notices(client: Client, user: User, *, now: datetime) -> QuerySet[Announcement]:
    """The sign-in banners ``user`` has not closed yet."""
    return announcements_for(client, now=now).filter(show_on_sign_in=True).exclude(
        dismissals__user=user)


def announcement_dismiss(*, client: Client, user: User, pk: int, now: datetime
                         ) -> AnnouncementDismissal:
    """Close a sign-in banner for ``user``; an announcement the client does not see is 404.
    A double submit finds the first dismissal (the pair is unique)."""
    announcement = get_object_or_404(announcements_for(client, now=now), pk=pk)
    try:
        with transaction.atomic():
            return AnnouncementDismissal.objects.create(announcement=announcement, user=user,
                                                        dismissed_at=now)
    except IntegrityError:
        return AnnouncementDismissal.objects.get(announcement=announcement, user=user)


def ticket_note_blocking(*, ticket: Ticket, now: datetime) -> Message | None:
    """A ticket that could not be refused (it came by e-mail) about a blocked service: an
    internal note tells staff which announcement covers it, so they can answer with it."""
    announcement = blocking_announcement(ticket.client, ticket.service, now)
    if announcement is None:
        return None
    reason = announcement.block_reason or announcement.title
    return tickets.ticket_note(
        ticket=ticket, user=None, now=now,
        body=_("Opened while the announcement \u201c%(title)s\u201d blocks new tickets about "
               "this service (%(reason)s). It came by e-mail, which cannot be refused; "
               "answer with the announcement or close the ticket.")
        % {"title": announcement.title, "reason": reason})

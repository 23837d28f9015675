"""Announcements in the client area's pages: the sign-in banners in the layout, the home
page's card. The lower apps' templates load these tags; no lower app's code imports support.

The tags render within a view's response, so they read the clock as the view would."""

from __future__ import annotations

from django import template
from django.utils import timezone

from support.announcements import announcements_for, body_html, signin_notices
from support.models import AnnouncementLevel

register = template.Library()

LEVEL_CSS = {AnnouncementLevel.INFO: "info", AnnouncementLevel.MAINTENANCE: "warning",
             AnnouncementLevel.INCIDENT: "danger"}


def _who(context):
    client_context = context.get("client_context")
    request = context.get("request")
    if client_context is None or request is None or not request.user.is_authenticated:
        return None, None, None
    return client_context.client, request.user, request


@register.inclusion_tag("support/announcements/_banners.html", takes_context=True)
def announcement_banners(context):
    client, user, request = _who(context)
    if client is None:
        return {"notices": []}
    return {"notices": list(signin_notices(client, user, now=timezone.now())),
            "next": request.get_full_path(), "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("support/announcements/_card.html", takes_context=True)
def home_announcements(context):
    """What the client sees now, less the banners already above the page."""
    client, user, _request = _who(context)
    if client is None:
        return {"announcements": []}
    now = timezone.now()
    banners = signin_notices(client, user, now=now).values("pk")
    return {"announcements": list(announcements_for(client, now=now).exclude(pk__in=banners))}


@register.filter
def announcement_body(announcement):
    return body_html(announcement.body)


@register.filter
def announcement_css(announcement) -> str:
    return LEVEL_CSS.get(announcement.level, "info")

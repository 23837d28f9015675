"""The Current activity page of the staff panel (Statistics). It reads the wall clock
once and hands it down."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice import activity
from services.models import ServiceOperation

ACTIVITY_PERMISSION = "backoffice.view_current_activity"


def current_activity(site: admin.AdminSite, request) -> TemplateResponse:
    if not request.user.has_perm(ACTIVITY_PERMISSION):
        raise PermissionDenied
    now = timezone.now()
    staff_count, staff = activity.signed_in_now(now=now, staff=True)
    client_count, clients = activity.signed_in_now(now=now, staff=False)
    labels = dict(ServiceOperation.Status.choices)
    context = {
        **site.each_context(request), "title": _("Current activity"), "now": now,
        "staff": staff, "staff_count": staff_count,
        "clients": clients, "client_count": client_count,
        "sign_ins": activity.recent_sign_ins(),
        "failed": activity.recent_sign_ins(failed=True),
        "operation_counts": [(labels[status], count) for status, count
                             in activity.operation_counts().items()],
        "operations": activity.operation_queue(),
        "limits": {"signed_in": activity.SIGNED_IN_LIMIT,
                   "sign_ins": activity.SIGN_IN_LIMIT,
                   "operations": activity.OPERATION_LIMIT},
        "idle": {"staff": _minutes("SESSION_IDLE_SECONDS_STAFF"),
                 "client": _minutes("SESSION_IDLE_SECONDS_CLIENT")},
    }
    request.current_app = site.name
    return TemplateResponse(request, "backoffice/current_activity.html", context)


def _minutes(setting: str) -> int:
    return getattr(settings, setting) // 60

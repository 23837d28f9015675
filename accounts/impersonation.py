"""'Enter as client': a member of staff opens the client area as a chosen client.

The staff member stays signed in as themselves, with their own department's rights
(``accounts.rights.staff_access``), after confirming who they are again
(``accounts.reauth``); the session remembers which client they entered, for a limited
time. Every start and stop is in the action log, and
every action taken meanwhile is logged with the staff member as actor and impersonator.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.actionlog import log_action
from accounts.models import Client
from accounts.reauth import require_reauthentication
from accounts.rights import staff_departments_label

SESSION_KEY = "impersonation"
PERMISSION = "accounts.impersonate_client"


def can_impersonate(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff
                and user.has_perm(PERMISSION))


def impersonation_start(*, request, client: Client) -> None:
    staff = request.user
    if not can_impersonate(staff):
        raise PermissionDenied("You may not enter the client area as a client.")
    require_reauthentication(request)
    previous = request.session.get(SESSION_KEY)
    if previous and previous.get("client_id") != client.pk:
        impersonation_stop(request=request)
    request.session[SESSION_KEY] = {
        "client_id": client.pk,
        "started_at": timezone.now().isoformat(),
    }
    log_action(actor=staff, action="impersonation.started", obj=client, request=request,
               details={"rights": staff_departments_label(staff)})


def impersonation_stop(*, request) -> int | None:
    """Leave the client area; returns the id of the client that was entered, if any."""
    data = request.session.pop(SESSION_KEY, None)
    if not data:
        return None
    client = Client.objects.filter(pk=data.get("client_id")).first()
    log_action(actor=request.user, action="impersonation.stopped", obj=client,
               request=None, details={"started_at": data.get("started_at")})
    return data.get("client_id")


def impersonated_client(request) -> Client | None:
    """The client a staff member has entered, if the session says so and still may."""
    data = request.session.get(SESSION_KEY)
    if not data:
        return None
    started = datetime.fromisoformat(data["started_at"])
    expired = timezone.now() - started > timedelta(seconds=settings.IMPERSONATION_MAX_AGE_SECONDS)
    if expired or not can_impersonate(request.user):
        request.session.pop(SESSION_KEY, None)
        return None
    return Client.objects.select_related("provider").filter(pk=data["client_id"]).first()

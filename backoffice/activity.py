"""Statistics → Current activity: who is signed in now (staff and clients apart), the
latest sign-ins and failed ones, and the queue of provisioning operations. Every
selector takes ``now`` and makes a fixed number of queries, whatever the number of rows.

A session is signed in now while its row in the session store has not expired: the idle
timeout (accounts.signin) moves that expiry to "last request + the user's idle limit"
each time it stamps the session (once a minute at most), so the expiry less the limit
is when the user was last seen, to the minute."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.db.models import Count, OuterRef, Subquery

from accounts.models import ActionLog, ClientUser
from accounts.signin import idle_seconds_for
from services.models import ServiceOperation

# The page lists this many of each; the counts above the lists are of all rows.
SIGNED_IN_LIMIT = 100
SIGN_IN_LIMIT = 50
OPERATION_LIMIT = 20
USER_AGENT_SHOWN = 40

FAILED_ACTIONS = ("auth.sign_in_failed", "mfa.failed")
QUEUE_STATUSES = (ServiceOperation.Status.RUNNING, ServiceOperation.Status.PENDING,
                  ServiceOperation.Status.WAITING_FOR_STAFF, ServiceOperation.Status.FAILED)


@dataclass(frozen=True)
class SignedIn:
    user: object
    client_id: int | None
    client_name: str
    ip: str
    user_agent: str
    signed_in_at: datetime
    last_seen_at: datetime


def short_user_agent(user_agent: str, limit: int = USER_AGENT_SHOWN) -> str:
    """A user agent cut to what fits a table cell (the full one is in the title)."""
    user_agent = " ".join(user_agent.split())
    return user_agent if len(user_agent) <= limit else user_agent[:limit - 1] + "…"


def _live_sessions(now: datetime):
    live = Session.objects.filter(session_key=OuterRef("session_key"), expire_date__gt=now)
    membership = ClientUser.objects.filter(user=OuterRef("user_id"))
    return (UserSession.objects.filter(user__is_active=True)
            .annotate(expires=Subquery(live.values("expire_date")[:1]),
                      client_id=Subquery(membership.values("client_id")[:1]),
                      client_name=Subquery(membership.values("client__name")[:1]))
            .filter(expires__isnull=False)
            .select_related("user"))


def signed_in_now(*, now: datetime, staff: bool) -> tuple[int, list[SignedIn]]:
    """Sessions signed in at ``now`` of staff (``staff=True``) or of client users, the
    most recently seen first: how many in all, and the first ``SIGNED_IN_LIMIT``."""
    sessions = _live_sessions(now).filter(user__is_staff=staff)
    total = sessions.count()
    rows = []
    for session in sessions.order_by("-expires", "-id")[:SIGNED_IN_LIMIT]:
        last_seen = session.expires - timedelta(seconds=idle_seconds_for(session.user))
        rows.append(SignedIn(
            user=session.user, client_id=session.client_id,
            client_name=session.client_name or "", ip=session.ip,
            user_agent=session.user_agent, signed_in_at=session.created_at,
            # A session created within the stamp's resolution may look seen before it
            # began: it was seen when it began.
            last_seen_at=max(last_seen, session.created_at)))
    rows.sort(key=lambda row: row.last_seen_at, reverse=True)
    return total, rows


def recent_sign_ins(*, failed: bool = False) -> list[ActionLog]:
    """The latest sign-ins (or failed sign-ins and second factors), newest first."""
    actions = FAILED_ACTIONS if failed else ("auth.signed_in",)
    return list(ActionLog.objects.filter(action__in=actions)
                .select_related("actor", "client")[:SIGN_IN_LIMIT])


def operation_counts() -> dict[str, int]:
    """How many provisioning operations are in each unfinished status now."""
    counts = dict(ServiceOperation.objects.filter(status__in=QUEUE_STATUSES)
                  .values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in QUEUE_STATUSES}


def operation_queue() -> list[ServiceOperation]:
    """The latest unfinished operations (queued, running, waiting for staff, failed)."""
    return list(ServiceOperation.objects.filter(status__in=QUEUE_STATUSES)
                .select_related("service", "service__client")[:OPERATION_LIMIT])

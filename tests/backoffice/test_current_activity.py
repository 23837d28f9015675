"""Current activity: who is signed in now (sessions not yet expired, staff and clients
apart), the latest sign-ins and failed ones, and the unfinished provisioning operations;
only with its permission, and in a number of queries that does not grow with the rows."""

from datetime import UTC, datetime, timedelta

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.actionlog import log_action
from accounts.models import ActionLog
from backoffice import activity
from services.models import Operation, ServiceOperation, ServiceStatus
from tests.factories.accounts import AdminFactory, ClientUserFactory, StaffFactory, UserFactory
from tests.factories.services import ServiceFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
URL = reverse("admin:current_activity")


def signed_in(user, *, expires: datetime, key: str, created: datetime | None = None,
              ip: str = "203.0.113.7", agent: str = "Mozilla/5.0 (X11; Linux) Firefox/140.0"):
    """A session as a sign-in leaves it: the store's row (its expiry moved by the idle
    timeout) and allauth's list of the user's sessions."""
    Session.objects.create(session_key=key, session_data="", expire_date=expires)
    return UserSession.objects.create(user=user, session_key=key, ip=ip, user_agent=agent,
                                      created_at=created or expires - timedelta(hours=1))


def operation(status, **service):
    return ServiceOperation.objects.create(
        service=ServiceFactory(status=ServiceStatus.IN_PROGRESS, operation=Operation.ACTIVATION,
                               **service),
        kind=Operation.ACTIVATION, status=status, target_status=ServiceStatus.ACTIVE,
        previous_status=ServiceStatus.ORDERED)


def test_signed_in_now_are_the_sessions_not_expired_staff_and_clients_apart(settings):
    settings.SESSION_IDLE_SECONDS_STAFF = 30 * 60
    settings.SESSION_IDLE_SECONDS_CLIENT = 2 * 3600
    clerk = StaffFactory(email="clerk@example.com")
    member = ClientUserFactory(user__email="member@example.com", client__name="Acme")
    gone = StaffFactory(email="gone@example.com")
    switched_off = UserFactory(email="off@example.com", is_active=False)
    ClientUserFactory(user=switched_off)
    forgotten = UserFactory(email="forgotten@example.com")
    # Seen at 11:50: the staff limit (30 min) puts the expiry at 12:20, the client's
    # (2 h) at 13:50.
    signed_in(clerk, expires=datetime(2026, 3, 15, 12, 20, tzinfo=UTC), key="k-clerk",
              created=datetime(2026, 3, 15, 9, 0, tzinfo=UTC))
    signed_in(member.user, expires=datetime(2026, 3, 15, 13, 50, tzinfo=UTC), key="k-member",
              created=datetime(2026, 3, 15, 11, 0, tzinfo=UTC), ip="198.51.100.1")
    signed_in(gone, expires=NOW - timedelta(seconds=1), key="k-gone")          # timed out
    signed_in(gone, expires=NOW, key="k-gone-2")                                 # just now
    signed_in(switched_off, expires=NOW + timedelta(hours=1), key="k-off")       # inactive
    # Signed out: allauth's row is left, the session store's row is gone.
    UserSession.objects.create(user=forgotten, session_key="k-out", ip="192.0.2.1",
                               user_agent="x")

    staff_count, staff = activity.signed_in_now(now=NOW, staff=True)
    client_count, clients = activity.signed_in_now(now=NOW, staff=False)

    assert staff_count == 1
    assert [(r.user.email, r.client_name, r.signed_in_at, r.last_seen_at) for r in staff] == [
        ("clerk@example.com", "", datetime(2026, 3, 15, 9, 0, tzinfo=UTC),
         datetime(2026, 3, 15, 11, 50, tzinfo=UTC))]
    assert client_count == 1
    [row] = clients
    assert (row.user.email, row.client_id, row.client_name, row.ip, row.last_seen_at) == (
        "member@example.com", member.client_id, "Acme", "198.51.100.1",
        datetime(2026, 3, 15, 11, 50, tzinfo=UTC))


def test_last_seen_is_never_before_the_sign_in(settings):
    settings.SESSION_IDLE_SECONDS_CLIENT = 3600
    user = ClientUserFactory().user
    signed_in(user, expires=NOW + timedelta(minutes=59, seconds=30), key="k",
              created=NOW)
    [row] = activity.signed_in_now(now=NOW, staff=False)[1]
    assert row.last_seen_at == NOW


@pytest.mark.parametrize(("agent", "shown"), [
    ("Mozilla/5.0", "Mozilla/5.0"),
    ("a" * 40, "a" * 40),
    ("a" * 41, "a" * 39 + "…"),
    ("  two\n\tlines  ", "two lines"),
    ("", ""),
])
def test_user_agents_are_cut_to_a_cell(agent, shown):
    assert activity.short_user_agent(agent) == shown


def test_recent_and_failed_sign_ins_are_apart_newest_first():
    user = UserFactory(email="who@example.com")
    for minute in range(3):
        entry = log_action(actor=user, action="auth.signed_in", obj=user,
                           details={"user_agent": "UA"})
        ActionLog.objects.filter(pk=entry.pk).update(
            created_at=NOW + timedelta(minutes=minute))
    log_action(actor=None, action="auth.sign_in_failed", obj=user,
               details={"login": "who@example.com"})
    log_action(actor=None, action="mfa.failed", obj=user, details={"type": "totp"})
    log_action(actor=user, action="auth.signed_out", obj=user)

    recent = activity.recent_sign_ins()
    assert [e.created_at for e in recent] == [NOW + timedelta(minutes=m) for m in (2, 1, 0)]
    assert sorted(e.action for e in activity.recent_sign_ins(failed=True)) == [
        "auth.sign_in_failed", "mfa.failed"]


def test_recent_sign_ins_stop_at_fifty():
    user = UserFactory()
    ActionLog.objects.bulk_create([ActionLog(actor=user, actor_label="x",
                                             action="auth.signed_in") for _ in range(55)])
    assert len(activity.recent_sign_ins()) == 50


def test_the_queue_counts_unfinished_operations_only():
    S = ServiceOperation.Status
    for status in (S.PENDING, S.PENDING, S.RUNNING, S.WAITING_FOR_STAFF, S.FAILED,
                   S.DONE, S.CANCELLED):
        operation(status)
    assert activity.operation_counts() == {S.RUNNING: 1, S.PENDING: 2,
                                           S.WAITING_FOR_STAFF: 1, S.FAILED: 1}
    assert sorted(op.status for op in activity.operation_queue()) == sorted(
        [S.PENDING, S.PENDING, S.RUNNING, S.WAITING_FOR_STAFF, S.FAILED])


def test_the_page_shows_who_is_signed_in_and_the_queue(client):
    client.force_login(AdminFactory())
    member = ClientUserFactory(user__email="member@example.com", client__name="Acme")
    now = timezone.now()
    signed_in(member.user, expires=now + timedelta(hours=1), key="k-member",
              agent="Mozilla/5.0 " + "x" * 150)
    signed_in(UserFactory(email="expired@example.com"), expires=now - timedelta(minutes=1),
              key="k-expired")
    failed = operation(ServiceOperation.Status.FAILED)
    done = operation(ServiceOperation.Status.DONE)

    page = client.get(URL)

    assert page.status_code == 200
    text = page.content.decode()
    assert "member@example.com" in text
    assert "Acme" in text
    assert "expired@example.com" not in text
    # The device cut to a cell; the whole user agent only in the cell's title.
    assert "Mozilla/5.0 " + "x" * 27 + "…<" in text
    assert text.count("x" * 150) == 1
    assert reverse("admin:services_serviceoperation_change", args=[failed.pk]) in text
    assert reverse("admin:services_serviceoperation_change", args=[done.pk]) not in text
    # force_login is not allauth's sign-in: the viewer has no row in allauth's list.
    assert (page.context["staff_count"], page.context["client_count"]) == (0, 1)


def test_the_page_needs_its_permission(client, staff_in):
    staff_in("Accounting")
    assert client.get(URL).status_code == 403
    staff_in("Technical support")
    assert client.get(URL).status_code == 403


def test_the_dashboard_links_it_only_with_the_permission(client, staff_in):
    staff_in("Technical support")
    assert URL not in client.get(reverse("admin:index")).content.decode()
    staff_in("admin")
    assert URL in client.get(reverse("admin:index")).content.decode()


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    return len(queries)


def test_queries_do_not_grow_with_the_rows(client):
    client.force_login(AdminFactory())
    now = timezone.now()

    def world(n: int, tag: str):
        for i in range(n):
            member = ClientUserFactory()
            signed_in(member.user, expires=now + timedelta(hours=1), key=f"{tag}-c{i}")
            signed_in(StaffFactory(), expires=now + timedelta(minutes=20), key=f"{tag}-s{i}")
            log_action(actor=member.user, action="auth.signed_in", obj=member.user,
                       client=member.client)
            log_action(actor=None, action="auth.sign_in_failed", obj=member.user,
                       client=member.client, details={"login": member.user.email})
            operation(ServiceOperation.Status.PENDING, client=member.client)

    world(1, "a")
    _queries(client)  # the first request caches what any first request does
    few = _queries(client)
    world(6, "b")
    assert _queries(client) == few

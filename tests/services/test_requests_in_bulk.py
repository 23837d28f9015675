"""The set-based requests of the billing clock write what the one-service functions write:
the same statuses, history rows and operations, for every status a service can be in;
and they leave alone what the state machine does not allow."""

from datetime import UTC, date, datetime

import pytest

from services.actions import service_renew, service_renew_many
from services.lifecycle import IllegalTransition
from services.models import Operation, ServiceHistory, ServiceOperation, ServiceStatus
from services.operations import OperationInProgress, service_request, service_request_many
from tests.factories.services import ServiceFactory

pytestmark = pytest.mark.django_db
S = ServiceStatus
NOW = datetime(2027, 3, 1, tzinfo=UTC)
STATES = [(S.ACTIVE, ""), (S.SUSPENDED, "client"), (S.SUSPENDED, "nonpayment"),
          (S.SUSPENDED, "expired"), (S.SUSPENDED_BY_ADMIN, "admin"),
          (S.SUSPENDED_ABUSE, "abuse"), (S.ORDERED, ""), (S.NOT_AVAILABLE, "")]


def _pair(status, reason):
    return [ServiceFactory(status=status, suspend_reason=reason,
                           expires_on=date(2027, 3, 4), anchor_day=4) for _ in range(2)]


def _written(service):
    service.refresh_from_db()
    history = [(h.from_status, h.to_status, h.operation, h.reason, h.details, h.created_at)
               for h in ServiceHistory.objects.filter(service=service).order_by("pk")]
    operations = [(o.kind, o.status, o.target_status, o.suspend_reason, o.previous_status,
                   o.previous_suspend_reason, o.created_at)
                  for o in ServiceOperation.objects.filter(service=service)]
    return (service.status, service.operation, service.suspend_reason, service.expires_on,
            service.anchor_day, history, operations)


@pytest.mark.parametrize(("status", "reason"), STATES)
@pytest.mark.parametrize(("operation", "target", "suspend_reason"), [
    (Operation.SUSPENSION, S.SUSPENDED, "nonpayment"),
    (Operation.DELETION, S.DELETED, ""),
    (Operation.RESUME, S.ACTIVE, ""),
])
def test_a_request_in_bulk_writes_what_one_request_writes(status, reason, operation, target,
                                                          suspend_reason):
    one, bulk = _pair(status, reason)
    try:
        service_request(service=one, operation=operation, target=target, actor=None,
                        reason="Why", suspend_reason=suspend_reason, now=NOW)
        allowed = True
    except (IllegalTransition, OperationInProgress):  # the bulk request leaves it alone
        allowed = False

    moved = service_request_many(service_ids=[bulk.pk], operation=operation, target=target,
                                 reasons={bulk.pk: "Why"}, suspend_reason=suspend_reason,
                                 now=NOW)

    assert moved.service_ids == ([bulk.pk] if allowed else [])
    assert _written(bulk) == _written(one)


@pytest.mark.parametrize(("status", "reason"), STATES)
def test_a_renewal_in_bulk_writes_what_one_renewal_writes(status, reason):
    one, bulk = _pair(status, reason)

    service_renew(service=one, new_expires_on=date(2027, 4, 4), actor=None, now=NOW)
    service_renew_many(expiries={bulk.pk: date(2027, 4, 4)}, now=NOW)

    assert _written(bulk) == _written(one)


def test_only_the_statuses_asked_for_move():
    active, stopped = ServiceFactory(status=S.ACTIVE), ServiceFactory(
        status=S.SUSPENDED, suspend_reason="client")

    moved = service_request_many(service_ids=[active.pk, stopped.pk],
                                 operation=Operation.SUSPENSION, target=S.SUSPENDED,
                                 suspend_reason="nonpayment", reasons={}, now=NOW,
                                 only_from=frozenset({S.ACTIVE}))

    assert moved.service_ids == [active.pk]
    stopped.refresh_from_db()
    assert (stopped.status, stopped.suspend_reason) == (S.SUSPENDED, "client")

"""The state machine over its whole matrix: every (from, to, operation) is allowed
exactly when the table says so; an illegal move raises and changes nothing."""

import itertools
from datetime import UTC

import pytest

from services.lifecycle import TRANSITIONS, IllegalTransition, is_allowed, service_transition
from services.models import Operation, ServiceHistory, ServiceStatus, SuspendReason
from tests.factories.accounts import UserFactory
from tests.factories.services import ServiceFactory

pytestmark = pytest.mark.django_db

STATUSES = list(ServiceStatus)
OPERATIONS = [None, *Operation]
MATRIX = list(itertools.product(STATUSES, STATUSES, OPERATIONS))


def _service_in(status, operation):
    in_progress = status == ServiceStatus.IN_PROGRESS
    return ServiceFactory(
        status=status,
        # An In progress service is busy with the operation under test (or some operation).
        operation=(operation or Operation.ACTIVATION) if in_progress else "",
    )


@pytest.mark.parametrize(("from_status", "to_status", "operation"), MATRIX,
                         ids=[f"{a}-{b}-{c}" for a, b, c in MATRIX])
def test_transition_matrix(from_status, to_status, operation):
    service = _service_in(from_status, operation)
    actor = UserFactory()
    allowed = operation in TRANSITIONS.get((from_status, to_status), frozenset())

    if allowed:
        service_transition(service=service, to=to_status, operation=operation, actor=actor,
                           reason="test")
        service.refresh_from_db()
        assert service.status == to_status
        assert service.operation == (operation if to_status == ServiceStatus.IN_PROGRESS else "")
        (row,) = ServiceHistory.objects.filter(service=service)
        assert (row.from_status, row.to_status, row.actor, row.reason) == (
            from_status, to_status, actor, "test")
    else:
        with pytest.raises(IllegalTransition):
            service_transition(service=service, to=to_status, operation=operation, actor=actor)
        service.refresh_from_db()
        assert service.status == from_status
        assert not ServiceHistory.objects.filter(service=service).exists()


def test_leaving_in_progress_needs_the_operation_it_is_busy_with():
    service = ServiceFactory(status=ServiceStatus.IN_PROGRESS, operation=Operation.REBOOT)

    with pytest.raises(IllegalTransition):
        service_transition(service=service, to=ServiceStatus.ACTIVE,
                           operation=Operation.ACTIVATION)

    service.refresh_from_db()
    assert (service.status, service.operation) == (ServiceStatus.IN_PROGRESS, Operation.REBOOT)


def test_every_status_can_be_left_except_deleted():
    sources = {source for source, _ in TRANSITIONS}
    assert set(STATUSES) - sources == {ServiceStatus.DELETED}
    assert not any(is_allowed(ServiceStatus.DELETED, to, op)
                   for to in STATUSES for op in OPERATIONS)


def test_first_activation_starts_the_period_and_anchors_renewals():
    service = ServiceFactory(status=ServiceStatus.IN_PROGRESS, operation=Operation.ACTIVATION,
                             expires_on=None)
    from datetime import datetime

    when = datetime(2027, 1, 31, 12, tzinfo=UTC)
    service_transition(service=service, to=ServiceStatus.ACTIVE, operation=Operation.ACTIVATION,
                       now=when)

    service.refresh_from_db()
    assert service.activated_at == when
    assert service.anchor_day == 31
    assert str(service.expires_on) == "2027-02-28"


def test_suspension_records_reason_and_date_and_resume_clears_them():
    service = ServiceFactory(status=ServiceStatus.IN_PROGRESS, operation=Operation.SUSPENSION)

    service_transition(service=service, to=ServiceStatus.SUSPENDED,
                       operation=Operation.SUSPENSION, suspend_reason=SuspendReason.NONPAYMENT)
    service.refresh_from_db()
    assert service.suspend_reason == SuspendReason.NONPAYMENT
    assert service.suspended_at is not None
    assert service.status_label == "Suspended for non-payment"

    service_transition(service=service, to=ServiceStatus.IN_PROGRESS, operation=Operation.RESUME)
    service_transition(service=service, to=ServiceStatus.ACTIVE, operation=Operation.RESUME)
    service.refresh_from_db()
    assert (service.suspend_reason, service.suspended_at) == ("", None)


def test_a_suspension_status_only_takes_its_own_reasons():
    service = ServiceFactory(status=ServiceStatus.IN_PROGRESS, operation=Operation.SUSPENSION)

    service_transition(service=service, to=ServiceStatus.SUSPENDED_BY_ADMIN,
                       operation=Operation.SUSPENSION, suspend_reason=SuspendReason.CLIENT)

    service.refresh_from_db()
    assert service.suspend_reason == SuspendReason.ADMIN

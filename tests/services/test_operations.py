"""Provisioning operations: manual and simulated modules, idempotent runs, failures,
retries, cancellation, capacity."""

import pytest

from services import actions
from services.models import (
    Operation,
    ServiceHistory,
    ServiceOperation,
    ServiceStatus,
    SuspendReason,
)
from services.operations import (
    OperationNotOpen,
    operation_cancel,
    operation_mark_done,
    operation_retry,
    operation_run,
    service_request,
)
from services.pricing import AddonValue
from tests.factories.accounts import StaffFactory
from tests.factories.services import AddonFactory, PlanFactory, ServiceFactory

pytestmark = pytest.mark.django_db
S, Status = ServiceStatus, ServiceOperation.Status


def _ordered(**plan_fields):
    return ServiceFactory(status=S.ORDERED, plan=PlanFactory(**plan_fields))


def test_simulated_activation_goes_in_progress_then_active_and_assigns_an_ip():
    service = _ordered()

    operation = actions.service_activate(service=service, actor=None)
    service.refresh_from_db()
    assert (service.status, service.operation) == (S.IN_PROGRESS, Operation.ACTIVATION)

    assert operation_run(operation.pk) == Status.DONE
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    assert service.parameters["ip_addresses"]
    assert service.expires_on is not None
    statuses = list(ServiceHistory.objects.filter(service=service).order_by("id")
                    .values_list("from_status", "to_status"))
    assert statuses == [(S.ORDERED, S.IN_PROGRESS), (S.IN_PROGRESS, S.ACTIVE)]


def test_running_an_operation_twice_has_the_effect_of_once():
    service = _ordered()
    operation = actions.service_activate(service=service, actor=None)

    first = operation_run(operation.pk)
    second = operation_run(operation.pk)

    assert first == second == Status.DONE
    operation.refresh_from_db()
    assert operation.attempts == 1
    assert ServiceHistory.objects.filter(service=service, to_status=S.ACTIVE).count() == 1


def test_an_operation_claimed_by_a_live_worker_is_not_run_again():
    service = _ordered()
    operation = actions.service_activate(service=service, actor=None)
    from services.operations import _claim

    assert _claim(operation.pk, now=None) is not None  # a worker took it and is calling
    assert operation_run(operation.pk) == Status.RUNNING  # a duplicate delivery backs off
    operation.refresh_from_db()
    assert operation.attempts == 1


def test_manual_module_waits_for_staff_who_mark_it_done():
    service = _ordered(module="manual")
    staff = StaffFactory()
    operation = actions.service_activate(service=service, actor=None)

    assert operation_run(operation.pk) == Status.WAITING_FOR_STAFF
    service.refresh_from_db()
    assert service.status == S.IN_PROGRESS

    operation_mark_done(operation=operation, actor=staff, parameters={"ip_addresses": ["1.2.3.4"]})
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    assert service.parameters["ip_addresses"] == ["1.2.3.4"]
    assert ServiceHistory.objects.filter(service=service, to_status=S.ACTIVE,
                                         actor=staff).exists()


def test_failed_operation_keeps_the_error_in_history_and_can_be_retried():
    service = ServiceFactory(status=S.ACTIVE,
                             plan=PlanFactory(module_settings={"delay": 0, "fail": ["reboot"]}))
    staff = StaffFactory()
    operation = actions.service_reboot(service=service, actor=staff)

    assert operation_run(operation.pk) == Status.FAILED
    service.refresh_from_db()
    assert (service.status, service.operation) == (S.IN_PROGRESS, Operation.REBOOT)
    assert ServiceHistory.objects.filter(service=service,
                                         reason__contains="Simulated failure of reboot").exists()
    assert operation_run(operation.pk) == Status.FAILED  # a stray task does not retry it

    service.plan.module_settings = {"delay": 0}
    service.plan.save()
    operation_retry(operation=operation, actor=staff)
    assert operation_run(operation.pk) == Status.DONE
    service.refresh_from_db()
    assert service.status == S.ACTIVE
    operation.refresh_from_db()
    assert operation.attempts == 2


def test_cancelled_operation_returns_the_service_where_it_was():
    service = ServiceFactory(status=S.SUSPENDED, suspend_reason=SuspendReason.CLIENT,
                             plan=PlanFactory(module="manual"))
    staff = StaffFactory()
    operation = actions.service_resume(service=service, actor=staff)
    operation_run(operation.pk)

    operation_cancel(operation=operation, actor=staff)

    service.refresh_from_db()
    assert (service.status, service.suspend_reason) == (S.SUSPENDED, SuspendReason.CLIENT)
    with pytest.raises(OperationNotOpen):
        operation_mark_done(operation=operation, actor=staff)


def test_no_capacity_leaves_the_service_not_available_and_it_can_be_tried_again():
    plan = PlanFactory(module_settings={"delay": 0, "capacity": 1})
    ServiceFactory(plan=plan, status=S.ACTIVE)
    service = ServiceFactory(plan=plan, client__provider=plan.provider, status=S.ORDERED)

    operation = actions.service_activate(service=service, actor=None)
    operation_run(operation.pk)

    service.refresh_from_db()
    assert service.status == S.NOT_AVAILABLE
    assert ServiceHistory.objects.filter(service=service, to_status=S.NOT_AVAILABLE,
                                         reason__contains="No capacity").exists()
    plan.module_settings = {"delay": 0, "capacity": 2}
    plan.save()
    operation_run(actions.service_activate(service=service, actor=None).pk)
    service.refresh_from_db()
    assert service.status == S.ACTIVE


def test_a_second_operation_waits_for_the_first():
    service = ServiceFactory(status=S.ACTIVE)
    actions.service_reboot(service=service, actor=StaffFactory())

    with pytest.raises(actions.ActionNotAllowed, match="busy"):
        actions.service_suspend(service=service, reason_code=SuspendReason.ADMIN, actor=None)
    assert ServiceOperation.objects.filter(service=service).count() == 1


def test_request_to_an_impossible_target_changes_nothing():
    service = ServiceFactory(status=S.ACTIVE)

    with pytest.raises(Exception, match="cannot go"):
        service_request(service=service, operation=Operation.REBOOT, target=S.DELETED, actor=None)

    service.refresh_from_db()
    assert service.status == S.ACTIVE
    assert not ServiceOperation.objects.exists()


def _busy_with(kind: str, service, staff):
    if kind == "reboot":
        return actions.service_reboot(service=service, actor=staff)
    return actions.service_delete(service=service, actor=staff)


@pytest.mark.parametrize(("busy", "ends", "then"), [
    ("reboot", "done", (S.IN_PROGRESS, Operation.RECONFIGURATION)),
    ("reboot", "cancelled", (S.IN_PROGRESS, Operation.RECONFIGURATION)),
    ("deletion", "done", (S.DELETED, "")),
])
def test_a_change_paid_while_the_module_is_busy_reaches_it_when_that_ends(busy, ends, then):
    plan = PlanFactory(module="manual")
    disk = AddonFactory(plan=plan)
    service = ServiceFactory(status=S.ACTIVE, plan=plan)
    staff = StaffFactory()
    running = _busy_with(busy, service, staff)

    actions.service_apply_configuration(service=service, values={disk.pk: AddonValue(40)},
                                        actor=None)
    assert ServiceOperation.objects.filter(service=service).count() == 1  # it waits
    if ends == "done":
        operation_mark_done(operation=running, actor=staff)
    else:
        operation_cancel(operation=running, actor=staff)

    service.refresh_from_db()
    assert (service.status, service.operation) == then
    assert service.configuration_due is None
    sent = ServiceOperation.objects.filter(service=service, kind=Operation.RECONFIGURATION)
    assert [op.params for op in sent] == (
        [{"addons": {str(disk.pk): "40"}}] if then[1] else [])

"""Running provisioning operations: queue, run through the module, complete, fail,
retry, mark done by staff, cancel.

An operation runs in three steps so that a slow panel never holds database locks and a
worker that dies is noticed: (1) claim it (status running, with a lease) and commit;
(2) call the module; (3) record the outcome and move the service on. A task delivered
twice finds the operation already done (or claimed) and does nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from services.lifecycle import history_note, service_transition
from services.models import Operation, Service, ServiceOperation, ServiceStatus
from services.modules import ModuleResult, module_for

logger = logging.getLogger(__name__)
Status = ServiceOperation.Status
OPEN = (Status.PENDING, Status.WAITING_FOR_STAFF, Status.RUNNING, Status.FAILED)


class OperationNotOpen(Exception):
    """The operation is already finished or cancelled."""


def operation_enqueue(operation: ServiceOperation) -> None:
    """Queue the operation's task once the current transaction commits."""
    from services.tasks import run_operation

    delay = module_for(operation.service.plan).delay_seconds(operation)
    transaction.on_commit(lambda: run_operation.apply_async((operation.pk,), countdown=delay))


def operation_run(operation_id: int, *, now: datetime | None = None) -> str:
    """Run one operation; returns its status afterwards. Safe to call any number of times."""
    claimed = _claim(operation_id, now=now)
    if claimed is None:
        return ServiceOperation.objects.values_list("status", flat=True).get(pk=operation_id)
    module = module_for(claimed.service.plan)
    try:
        result = module.run(claimed)
    except Exception as error:  # a broken module must not leave the operation running
        logger.exception("Module %s failed on operation %s", module.name, claimed.pk)
        result = ModuleResult(ok=False, message=f"{type(error).__name__}: {error}")
    return _finish(claimed.pk, result, actor=None, now=now)


@transaction.atomic
def _claim(operation_id: int, *, now: datetime | None) -> ServiceOperation | None:
    now = now or timezone.now()
    operation = (ServiceOperation.objects.select_for_update()
                 .select_related("service__plan").get(pk=operation_id))
    if operation.status == Status.RUNNING and operation.lease_until and operation.lease_until > now:
        return None  # another worker has it
    if operation.status not in (Status.PENDING, Status.RUNNING):
        return None  # done, cancelled, failed (needs a retry) or waiting for staff
    if module_for(operation.service.plan).is_manual:
        operation.status = Status.WAITING_FOR_STAFF
        operation.save(update_fields=["status"])
        history_note(service=operation.service, actor=None, now=now,
                     reason=f"Waiting for staff to complete the {operation.get_kind_display()}")
        return None
    operation.status = Status.RUNNING
    operation.attempts += 1
    operation.started_at = now
    operation.lease_until = now + timedelta(seconds=settings.OPERATION_LEASE_SECONDS)
    operation.save(update_fields=["status", "attempts", "started_at", "lease_until"])
    return operation


@transaction.atomic
def _finish(operation_id: int, result: ModuleResult, *, actor: User | None,
            now: datetime | None) -> str:
    now = now or timezone.now()
    operation = ServiceOperation.objects.select_for_update().get(pk=operation_id)
    if operation.status not in (Status.RUNNING, Status.WAITING_FOR_STAFF, Status.FAILED):
        return operation.status  # finished or cancelled meanwhile
    service = Service.objects.select_for_update().select_related("plan").get(
        pk=operation.service_id)
    if result.parameters:
        service.parameters = {**service.parameters, **result.parameters}
        service.save(update_fields=["parameters"])
    if result.ok:
        target, reason = operation.target_status, result.message
    elif result.no_capacity and operation.kind == Operation.ACTIVATION:
        target, reason = ServiceStatus.NOT_AVAILABLE, result.message
    else:
        operation.status = Status.FAILED
        operation.error = result.message
        operation.lease_until = None
        operation.save(update_fields=["status", "error", "lease_until"])
        history_note(service=service, actor=actor, now=now,
                     reason=f"{operation.get_kind_display().capitalize()} failed: "
                            f"{result.message}",
                     details={"operation": operation.pk, "attempt": operation.attempts})
        return operation.status
    service_transition(service=service, to=target, operation=operation.kind, actor=actor,
                       reason=reason, suspend_reason=operation.suspend_reason, now=now,
                       details={"operation": operation.pk})
    operation.status = Status.DONE
    operation.error = "" if result.ok else result.message
    operation.finished_at = now
    operation.lease_until = None
    operation.save(update_fields=["status", "error", "finished_at", "lease_until"])
    _send_due_configuration(service, actor=actor, now=now)
    return operation.status


def _send_due_configuration(service: Service, *, actor: User | None, now) -> None:
    from services.actions import service_send_due_configuration  # actions runs operations

    service_send_due_configuration(service=service, actor=actor, now=now)


def operation_mark_done(*, operation: ServiceOperation, actor: User,
                        parameters: dict | None = None, note: str = "") -> str:
    """Staff completed the operation by hand (manual module, or after fixing a failure)."""
    with transaction.atomic():
        locked = ServiceOperation.objects.select_for_update().get(pk=operation.pk)
        if locked.status not in (Status.WAITING_FOR_STAFF, Status.FAILED, Status.PENDING):
            raise OperationNotOpen(f"The operation is {locked.get_status_display().lower()}.")
        if locked.status == Status.PENDING:
            locked.status = Status.WAITING_FOR_STAFF
            locked.save(update_fields=["status"])
        return _finish(operation.pk, ModuleResult(ok=True, message=note or "Completed by staff",
                                                  parameters=parameters or {}),
                       actor=actor, now=None)


@transaction.atomic
def operation_retry(*, operation: ServiceOperation, actor: User) -> ServiceOperation:
    """Run a failed operation again."""
    locked = ServiceOperation.objects.select_for_update().get(pk=operation.pk)
    if locked.status != Status.FAILED:
        raise OperationNotOpen("Only a failed operation can be retried.")
    locked.status = Status.PENDING
    locked.save(update_fields=["status"])
    history_note(service=locked.service, actor=actor,
                 reason=f"{locked.get_kind_display().capitalize()} retried",
                 details={"operation": locked.pk, "last_error": locked.error})
    operation_enqueue(locked)
    return locked


@transaction.atomic
def operation_cancel(*, operation: ServiceOperation, actor: User, reason: str = "") -> None:
    """Give up the operation; the service returns to the status it had before."""
    locked = ServiceOperation.objects.select_for_update().get(pk=operation.pk)
    if locked.status not in OPEN:
        raise OperationNotOpen(f"The operation is {locked.get_status_display().lower()}.")
    locked.status = Status.CANCELLED
    locked.finished_at = timezone.now()
    locked.save(update_fields=["status", "finished_at"])
    service_transition(service=locked.service, to=locked.previous_status, operation=locked.kind,
                       actor=actor, suspend_reason=locked.previous_suspend_reason,
                       reason=reason or f"{locked.get_kind_display().capitalize()} cancelled",
                       details={"operation": locked.pk})
    service = Service.objects.select_for_update().get(pk=locked.service_id)
    _send_due_configuration(service, actor=actor, now=None)


def operations_requeue_stale(*, now: datetime | None = None, pending_after: int = 120) -> int:
    """Queue again what a lost message or a dead worker left behind: operations pending
    for a while, and running ones whose lease ran out. Returns how many were queued."""
    from services.tasks import run_operation

    now = now or timezone.now()
    stale = ServiceOperation.objects.filter(
        Q(status=Status.PENDING, created_at__lt=now - timedelta(seconds=pending_after))
        | Q(status=Status.RUNNING, lease_until__lt=now)
    ).values_list("pk", flat=True)
    count = 0
    for pk in stale:
        run_operation.delay(pk)
        count += 1
    return count

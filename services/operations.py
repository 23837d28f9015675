"""Provisioning operations: request one (the service goes In progress), queue it, run it
through the module, complete, fail, retry, mark done by staff, cancel.

An operation runs in three steps so that a slow panel never holds database locks and a
worker that dies is noticed: (1) claim it (status running, with a lease) and commit;
(2) call the module; (3) record the outcome and move the service on. A task delivered
twice finds the operation already done (or claimed) and does nothing.

Operations are queued by task name (``services.tasks`` imports this module, never the
other way round), after the transaction that wrote them commits.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from services.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    actor_label,
    history_note,
    is_allowed,
    service_transition,
)
from services.models import (
    RECONFIGURABLE_STATUSES,
    Operation,
    Service,
    ServiceOperation,
    ServiceStatus,
    TariffPlan,
)
from services.modules import ModuleResult, module_for

logger = logging.getLogger(__name__)
Status = ServiceOperation.Status
S = ServiceStatus
OPEN = (Status.PENDING, Status.WAITING_FOR_STAFF, Status.RUNNING, Status.FAILED)


class OperationNotOpen(Exception):
    """The operation is already finished or cancelled."""


RUN_OPERATION = "services.tasks.run_operation"
RUN_OPERATIONS = "services.tasks.run_operations"
# Operations handed to a worker in one task by the set-based requests below: enough that a
# day's thousands of suspensions are a few dozen messages, few enough that a batch ends
# in seconds.
OPERATION_BATCH = 200


def operation_enqueue(operation: ServiceOperation) -> None:
    """Queue the operation's task once the current transaction commits."""
    delay = module_for(operation.service.plan).delay_seconds(operation)
    transaction.on_commit(lambda: current_app.send_task(RUN_OPERATION, (operation.pk,),
                                                        countdown=delay))


class OperationInProgress(Exception):
    """The service is busy with another operation."""


@transaction.atomic
def service_request(
    *,
    service: Service,
    operation: str,
    target: str,
    actor: User | None,
    reason: str = "",
    suspend_reason: str = "",
    params: dict | None = None,
    now: datetime | None = None,
) -> ServiceOperation:
    """Send the service to In progress with ``operation`` and queue the module's work.

    ``target`` is the status the service reaches when the operation is done.
    """
    locked = Service.objects.select_for_update().get(pk=service.pk)
    if locked.status == S.IN_PROGRESS:
        raise OperationInProgress(
            f"Service #{locked.pk} is busy: {Operation(locked.operation).label}.")
    if not is_allowed(S.IN_PROGRESS, target, operation):
        raise IllegalTransition(locked, target, operation)
    previous_status, previous_reason = locked.status, locked.suspend_reason
    if not suspend_reason and target == previous_status:
        suspend_reason = previous_reason  # e.g. reconfiguring a service stopped for debt
    service_transition(service=locked, to=S.IN_PROGRESS, operation=operation, actor=actor,
                       reason=reason, details={"target": target}, now=now)
    record = ServiceOperation.objects.create(
        service=locked, kind=operation, target_status=target, suspend_reason=suspend_reason,
        previous_status=previous_status, previous_suspend_reason=previous_reason,
        params=params or {}, requested_by=actor, created_at=now or timezone.now(),
    )
    operation_enqueue(record)
    service.__dict__.update({f.attname: getattr(locked, f.attname)
                             for f in Service._meta.concrete_fields})
    return record


@dataclass(frozen=True)
class Requested:
    """What ``service_request_many`` moved: the services now In progress, with the
    operation created for each."""

    service_ids: list[int]
    operation_ids: list[int]


def _moves_from(operation: str) -> frozenset[str]:
    """The statuses a service can leave for In progress with ``operation``."""
    return frozenset(source for (source, to), operations in TRANSITIONS.items()
                     if to == S.IN_PROGRESS and operation in operations)


# The set-based request, as one statement: lock the services that may move, move them to
# In progress, and write a history row and an operation for each (see service_request).
_REQUEST_MANY = """
WITH old AS MATERIALIZED (
    SELECT id, status, suspend_reason, plan_id FROM services_service
    WHERE id = ANY(%(ids)s) AND status = ANY(%(movable)s)
    ORDER BY id FOR UPDATE),
moved AS (
    UPDATE services_service s SET status = 'in_progress', operation = %(operation)s
    FROM old WHERE s.id = old.id
    RETURNING s.id),
history AS (
    INSERT INTO services_servicehistory (service_id, created_at, actor_id, actor_label,
                                         from_status, to_status, operation, reason, details)
    SELECT old.id, %(now)s, %(actor)s, %(label)s, old.status, 'in_progress',
           %(operation)s, coalesce(r.reason, ''), %(details)s::jsonb
    FROM old JOIN moved USING (id)
    LEFT JOIN unnest(%(ids)s::bigint[], %(reasons)s::text[]) AS r (id, reason) USING (id)),
operations AS (
    INSERT INTO services_serviceoperation (service_id, kind, status, target_status,
                                           suspend_reason, previous_status,
                                           previous_suspend_reason, params, attempts, error,
                                           requested_by_id, created_at)
    SELECT old.id, %(operation)s, 'pending', %(target)s,
           CASE WHEN %(suspend_reason)s <> '' THEN %(suspend_reason)s
                WHEN %(target)s = old.status THEN old.suspend_reason ELSE '' END,
           old.status, old.suspend_reason, '{}'::jsonb, 0, '', %(actor)s, %(now)s
    FROM old JOIN moved USING (id)
    RETURNING id, service_id)
SELECT operations.id, operations.service_id, old.plan_id
FROM operations JOIN old ON old.id = operations.service_id ORDER BY operations.service_id"""


def service_request_many(*, service_ids: list[int], operation: str, target: str,
                         reasons: dict[int, str], now: datetime, suspend_reason: str = "",
                         actor: User | None = None,
                         only_from: frozenset[str] | None = None) -> Requested:
    """``service_request`` for many services at once, set-based: each service that the
    table lets go In progress with ``operation`` does, with its history row (why: its
    entry in ``reasons``) and its operation, in one statement; the operations are handed
    to the workers in batches once the transaction commits. Services that are busy, or
    whose status does not allow the move (or is not one of ``only_from``), are left as
    they are: the caller picked them by a status that a concurrent change may have moved
    on."""
    if not is_allowed(S.IN_PROGRESS, target, operation):
        raise ValueError(f"In progress cannot end in {target} after {operation}.")
    movable = _moves_from(operation)
    if only_from is not None:
        movable &= only_from
    if not service_ids or not movable:
        return Requested([], [])
    ids = sorted(set(service_ids))
    with connection.cursor() as cursor:
        cursor.execute(_REQUEST_MANY, {
            "ids": ids, "movable": sorted(movable), "operation": operation,
            "target": target, "suspend_reason": suspend_reason, "now": now,
            "actor": actor.pk if actor is not None else None, "label": actor_label(actor),
            "reasons": [reasons.get(pk, "") for pk in ids],
            "details": json.dumps({"target": target})})
        rows = cursor.fetchall()
    operations_dispatch([(operation_id, plan_id) for operation_id, _, plan_id in rows])
    return Requested([service_id for _, service_id, _ in rows],
                     [operation_id for operation_id, _, _ in rows])


def operations_dispatch(operations: list[tuple[int, int]]) -> None:
    """Hand (operation id, plan id) pairs to the workers in batches, once the current
    transaction commits; a plan's module says how long its operations wait."""
    by_plan: dict[int, list[int]] = {}
    for operation_id, plan_id in operations:
        by_plan.setdefault(plan_id, []).append(operation_id)
    plans = TariffPlan.objects.in_bulk(list(by_plan))
    batches = []
    for plan_id, ids in by_plan.items():
        delay = module_for(plans[plan_id]).delay_seconds(None)
        batches.extend((ids[i:i + OPERATION_BATCH], delay)
                       for i in range(0, len(ids), OPERATION_BATCH))

    def send() -> None:
        for ids, delay in batches:
            current_app.send_task(RUN_OPERATIONS, (ids,), countdown=delay)

    transaction.on_commit(send)


def operations_run(operation_ids: list[int]) -> dict[str, int]:
    """Run a batch of operations one after the other; each is claimed, run and finished
    on its own, so a batch cut short by a dead worker leaves the rest pending (the
    requeue job finds them)."""
    outcome: dict[str, int] = {}
    for operation_id in operation_ids:
        status = operation_run(operation_id)
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


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
    service_send_due_configuration(service=service, actor=actor, now=now)
    return operation.status


def service_send_due_configuration(*, service: Service, actor: User | None,
                                   now=None) -> ServiceOperation | None:
    """Send the configuration change that waited for the operation just ended, if the
    service can still take it (a deleted service drops it)."""
    due = service.configuration_due
    if not due:
        return None
    Service.objects.filter(pk=service.pk).update(configuration_due=None)
    service.configuration_due = None
    if service.status not in RECONFIGURABLE_STATUSES:
        return None
    return service_request(service=service, operation=Operation.RECONFIGURATION,
                           target=service.status, actor=actor,
                           reason="Configuration changed while the service was busy",
                           params=due, now=now)


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
    service_send_due_configuration(service=service, actor=actor, now=None)


def operations_requeue_stale(*, now: datetime | None = None, pending_after: int = 120) -> int:
    """Queue again what a lost message or a dead worker left behind: operations pending
    for a while, and running ones whose lease ran out. Returns how many were queued."""
    now = now or timezone.now()
    stale = ServiceOperation.objects.filter(
        Q(status=Status.PENDING, created_at__lt=now - timedelta(seconds=pending_after))
        | Q(status=Status.RUNNING, lease_until__lt=now)
    ).values_list("pk", flat=True)
    count = 0
    for pk in stale:
        current_app.send_task(RUN_OPERATION, (pk,))
        count += 1
    return count

"""The service state machine: the one table of allowed transitions and the one function
that changes a service's status.

``service_transition`` checks the table, applies the change, and writes the history
row in the same transaction. Changes that need the processing module go through
``services.operations.service_request``, which moves the service to In progress with its
operation and queues the operation; this module knows nothing of how operations run.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from services.models import (
    Charging,
    Operation,
    Service,
    ServiceHistory,
    ServiceStatus,
    SuspendReason,
)
from services.periods import add_period

S = ServiceStatus
Op = Operation

# (from, to) -> the operations with which that move is allowed; None stands for a direct
# change that involves no processing module. Leaving In progress is allowed only for
# the operation the service is busy with: its completion, or its cancellation by staff
# (which returns the service to where it was).
TRANSITIONS: dict[tuple[str, str], frozenset[str | None]] = {
    (S.ORDERED, S.CONFIGURATION_REQUIRED): frozenset({None}),
    (S.ORDERED, S.IN_PROGRESS): frozenset({Op.ACTIVATION}),
    (S.ORDERED, S.DELETED): frozenset({None}),
    (S.CONFIGURATION_REQUIRED, S.IN_PROGRESS): frozenset({Op.ACTIVATION}),
    (S.CONFIGURATION_REQUIRED, S.DELETED): frozenset({None}),
    (S.NOT_AVAILABLE, S.IN_PROGRESS): frozenset({Op.ACTIVATION}),
    (S.NOT_AVAILABLE, S.DELETED): frozenset({None}),
    (S.ACTIVE, S.IN_PROGRESS): frozenset(
        {Op.SUSPENSION, Op.REBOOT, Op.RENEWAL, Op.TRANSFER, Op.DELETION, Op.RECONFIGURATION}),
    (S.SUSPENDED, S.IN_PROGRESS): frozenset(
        {Op.SUSPENSION, Op.RESUME, Op.RENEWAL, Op.DELETION, Op.RECONFIGURATION}),
    (S.SUSPENDED_BY_ADMIN, S.IN_PROGRESS): frozenset(
        {Op.SUSPENSION, Op.RESUME, Op.RENEWAL, Op.DELETION, Op.RECONFIGURATION}),
    (S.SUSPENDED_ABUSE, S.IN_PROGRESS): frozenset({Op.RESUME, Op.DELETION}),
    (S.IN_PROGRESS, S.ACTIVE): frozenset(
        {Op.ACTIVATION, Op.RESUME, Op.REBOOT, Op.RENEWAL, Op.TRANSFER, Op.RECONFIGURATION,
         Op.SUSPENSION, Op.DELETION}),
    (S.IN_PROGRESS, S.SUSPENDED): frozenset(
        {Op.SUSPENSION, Op.RESUME, Op.RENEWAL, Op.DELETION, Op.RECONFIGURATION}),
    (S.IN_PROGRESS, S.SUSPENDED_BY_ADMIN): frozenset(
        {Op.SUSPENSION, Op.RESUME, Op.RENEWAL, Op.DELETION, Op.RECONFIGURATION}),
    (S.IN_PROGRESS, S.SUSPENDED_ABUSE): frozenset({Op.SUSPENSION, Op.RESUME, Op.DELETION}),
    (S.IN_PROGRESS, S.NOT_AVAILABLE): frozenset({Op.ACTIVATION}),
    (S.IN_PROGRESS, S.ORDERED): frozenset({Op.ACTIVATION}),
    (S.IN_PROGRESS, S.CONFIGURATION_REQUIRED): frozenset({Op.ACTIVATION}),
    (S.IN_PROGRESS, S.DELETED): frozenset({Op.DELETION}),
}

SUSPENDED_BY = {
    S.SUSPENDED: (SuspendReason.CLIENT, SuspendReason.NONPAYMENT, SuspendReason.EXPIRED),
    S.SUSPENDED_BY_ADMIN: (SuspendReason.ADMIN,),
    S.SUSPENDED_ABUSE: (SuspendReason.ABUSE,),
}
STATUS_FOR_REASON = {reason: status for status, reasons in SUSPENDED_BY.items()
                     for reason in reasons}


class IllegalTransition(Exception):
    """The state machine does not allow this change; nothing was changed."""

    def __init__(self, service: Service, to: str, operation: str | None):
        self.service, self.to, self.operation = service, to, operation
        what = f"{ServiceStatus(service.status).label} → {ServiceStatus(to).label}"
        if operation:
            what += f" ({Operation(operation).label})"
        super().__init__(f"Service #{service.pk} cannot go {what}.")


def is_allowed(from_status: str, to_status: str, operation: str | None) -> bool:
    return operation in TRANSITIONS.get((from_status, to_status), frozenset())


def actor_label(actor: User | None) -> str:
    return actor.email if actor is not None else "system"


@transaction.atomic
def service_transition(
    *,
    service: Service,
    to: str,
    operation: str | None = None,
    actor: User | None = None,
    reason: str = "",
    suspend_reason: str = "",
    details: dict | None = None,
    now: datetime | None = None,
) -> Service:
    """Move ``service`` to status ``to``; the only writer of ``Service.status``.

    Raises ``IllegalTransition`` (and changes nothing) if the table does not allow the
    move with this operation.
    """
    now = now or timezone.now()
    locked = Service.objects.select_for_update().get(pk=service.pk)
    from_status = locked.status
    if not is_allowed(from_status, to, operation) or (
        from_status == S.IN_PROGRESS and locked.operation != operation
    ):
        raise IllegalTransition(locked, to, operation)
    if to in SUSPENDED_BY and suspend_reason not in SUSPENDED_BY[to]:
        suspend_reason = SUSPENDED_BY[to][0]

    locked.status = to
    locked.operation = operation if to == S.IN_PROGRESS else ""
    if to == S.IN_PROGRESS:
        pass  # the suspension reason stays visible while the module works
    elif to in SUSPENDED_BY:
        if locked.suspend_reason != suspend_reason or from_status not in SUSPENDED_BY:
            locked.suspended_at = now
        locked.suspend_reason = suspend_reason
    else:
        locked.suspend_reason = ""
        locked.suspended_at = None
    if to == S.ACTIVE and locked.activated_at is None:
        _start_first_period(locked, now)
    if to == S.DELETED:
        locked.deleted_at = now
        locked.auto_renew = False
    locked.save()
    ServiceHistory.objects.create(
        service=locked, created_at=now, actor=actor, actor_label=actor_label(actor),
        from_status=from_status, to_status=to, operation=operation or "", reason=reason,
        details=details or {},
    )
    # Callers keep using the object they passed in; let it reflect the change.
    service.__dict__.update({f.attname: getattr(locked, f.attname)
                             for f in Service._meta.concrete_fields})
    return service


def _start_first_period(service: Service, now: datetime) -> None:
    service.activated_at = now
    if service.plan.charging == Charging.PERIOD and service.expires_on is None:
        today = timezone.localdate(now)
        service.anchor_day = today.day
        service.expires_on = add_period(today, service.billing_period, anchor_day=today.day)


def history_note(*, service: Service, actor: User | None, reason: str,
                 details: dict | None = None, now: datetime | None = None) -> ServiceHistory:
    """A history row for something that happened without a status change."""
    return ServiceHistory.objects.create(
        service=service, created_at=now or timezone.now(), actor=actor,
        actor_label=actor_label(actor), from_status=service.status, to_status=service.status,
        operation=service.operation, reason=reason, details=details or {},
    )

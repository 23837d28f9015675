"""What clients and staff may do to a service, and the use cases that do it.

Each use case checks who may do it in which status, then goes through the state
machine (``services.lifecycle``). A refusal raises ``ActionNotAllowed`` with a message
for the person who asked, and changes nothing.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from django.db import connection, transaction

from accounts.actionlog import log_action
from accounts.models import User
from services.lifecycle import (
    STATUS_FOR_REASON,
    IllegalTransition,
    history_note,
    service_transition,
)
from services.models import (
    RECONFIGURABLE_STATUSES,
    Charging,
    Operation,
    Service,
    ServiceAddon,
    ServiceOperation,
    ServiceStatus,
    SuspendReason,
)
from services.modules import module_for
from services.operations import OperationInProgress, operations_dispatch, service_request
from services.parameters import clean_parameters, missing_parameters

S = ServiceStatus


class ActionNotAllowed(Exception):
    """The action is not allowed for this service now; the message says why."""


class ClientAction(StrEnum):
    SUSPEND = "suspend"
    RESUME = "resume"
    REBOOT = "reboot"
    DELETE = "delete"
    AUTO_RENEW = "auto_renew"
    NAMESERVERS = "nameservers"


CLIENT_DELETABLE = (S.ORDERED, S.CONFIGURATION_REQUIRED, S.NOT_AVAILABLE, S.ACTIVE, S.SUSPENDED)


def client_actions(service: Service) -> set[ClientAction]:
    """The actions the service's status and plan allow a client."""
    status, plan = service.status, service.plan
    allowed: set[ClientAction] = set()
    if status == S.ACTIVE:
        allowed.add(ClientAction.SUSPEND)
        if service.is_server:
            allowed.add(ClientAction.REBOOT)
        if plan.product_type == "domain":
            allowed.add(ClientAction.NAMESERVERS)
    if status == S.SUSPENDED and service.suspend_reason == SuspendReason.CLIENT:
        allowed.add(ClientAction.RESUME)
    if plan.client_can_delete and status in CLIENT_DELETABLE and not (
        status == S.SUSPENDED and service.suspend_reason != SuspendReason.CLIENT
        and service.suspend_reason not in (SuspendReason.NONPAYMENT, SuspendReason.EXPIRED)
    ):
        allowed.add(ClientAction.DELETE)
    if plan.charging == Charging.PERIOD and status not in (S.DELETED,):
        allowed.add(ClientAction.AUTO_RENEW)
    return allowed


def _require(service: Service, action: ClientAction) -> None:
    if action not in client_actions(service):
        messages = {
            ClientAction.SUSPEND: "Only an active service can be suspended.",
            ClientAction.RESUME: "Only a service you suspended yourself can be resumed here.",
            ClientAction.REBOOT: "Only an active server can be rebooted.",
            ClientAction.DELETE: "This service cannot be deleted now.",
            ClientAction.AUTO_RENEW: "Auto-renewal does not apply to this service.",
            ClientAction.NAMESERVERS: "Name servers can be changed on an active domain.",
        }
        raise ActionNotAllowed(messages[action])


def _request(service: Service, **kwargs) -> ServiceOperation:
    try:
        return service_request(service=service, **kwargs)
    except (IllegalTransition, OperationInProgress) as error:
        raise ActionNotAllowed(str(error)) from error


def _locked(service: Service) -> Service:
    return Service.objects.select_for_update().select_related("plan").get(pk=service.pk)


# Client actions ---------------------------------------------------------------------
@transaction.atomic
def service_suspend_by_client(*, service: Service, actor: User, request=None) -> ServiceOperation:
    service = _locked(service)
    _require(service, ClientAction.SUSPEND)
    log_action(actor=actor, action="service.suspend_requested", obj=service,
               client=service.client, request=request)
    return _request(service, operation=Operation.SUSPENSION, target=S.SUSPENDED, actor=actor,
                    suspend_reason=SuspendReason.CLIENT, reason="Suspended by the client")


@transaction.atomic
def service_resume_by_client(*, service: Service, actor: User, request=None) -> ServiceOperation:
    service = _locked(service)
    _require(service, ClientAction.RESUME)
    log_action(actor=actor, action="service.resume_requested", obj=service,
               client=service.client, request=request)
    return _request(service, operation=Operation.RESUME, target=S.ACTIVE, actor=actor,
                    reason="Resumed by the client")


@transaction.atomic
def service_reboot(*, service: Service, actor: User, request=None) -> ServiceOperation:
    service = _locked(service)
    _require(service, ClientAction.REBOOT)
    log_action(actor=actor, action="service.reboot_requested", obj=service,
               client=service.client, request=request)
    return _request(service, operation=Operation.REBOOT, target=S.ACTIVE, actor=actor,
                    reason="Reboot requested")


@transaction.atomic
def service_delete_by_client(*, service: Service, actor: User, request=None) -> Service:
    service = _locked(service)
    _require(service, ClientAction.DELETE)
    log_action(actor=actor, action="service.delete_requested", obj=service,
               client=service.client, request=request)
    return _delete(service, actor=actor, reason="Deleted by the client")


@transaction.atomic
def service_set_auto_renew(*, service: Service, enabled: bool, actor: User,
                           request=None) -> Service:
    service = _locked(service)
    _require(service, ClientAction.AUTO_RENEW)
    if service.auto_renew != enabled:
        service.auto_renew = enabled
        service.save(update_fields=["auto_renew"])
        history_note(service=service, actor=actor,
                     reason=f"Auto-renewal turned {'on' if enabled else 'off'}")
        log_action(actor=actor, action="service.auto_renew_changed", obj=service,
                   client=service.client, request=request, details={"enabled": enabled})
    return service


@transaction.atomic
def service_set_nameservers(*, service: Service, nameservers: list[str], actor: User,
                            request=None) -> ServiceOperation:
    service = _locked(service)
    _require(service, ClientAction.NAMESERVERS)
    log_action(actor=actor, action="service.nameservers_change_requested", obj=service,
               client=service.client, request=request, details={"nameservers": nameservers})
    service.parameters = {**service.parameters, "nameservers": nameservers}
    service.save(update_fields=["parameters"])
    return _request(service, operation=Operation.RECONFIGURATION, target=S.ACTIVE, actor=actor,
                    reason="Name servers changed", params={"nameservers": nameservers})


# Staff and system actions --------------------------------------------------------------
def _delete(service: Service, *, actor: User | None, reason: str, now=None):
    if service.status in (S.ORDERED, S.CONFIGURATION_REQUIRED, S.NOT_AVAILABLE):
        # Nothing was provisioned: no module work, the service is simply gone.
        return service_transition(service=service, to=S.DELETED, actor=actor, reason=reason,
                                  now=now)
    return _request(service, operation=Operation.DELETION, target=S.DELETED, actor=actor,
                    reason=reason, now=now)


@transaction.atomic
def service_delete(*, service: Service, actor: User | None, reason: str = "Deleted",
                   now=None):
    """Delete a service (staff, or the clock after the grace period; ``now`` is the
    clock's moment, so a replayed day writes that day)."""
    return _delete(_locked(service), actor=actor, reason=reason, now=now)


@transaction.atomic
def service_activate(*, service: Service, actor: User | None,
                     reason: str = "Activation") -> ServiceOperation:
    """Provision a paid service (also: try again one that was Not available)."""
    service = _locked(service)
    if service.status == S.CONFIGURATION_REQUIRED and actor is not None and not actor.is_staff:
        raise ActionNotAllowed("Fill in the service's parameters first.")
    return _request(service, operation=Operation.ACTIVATION, target=S.ACTIVE, actor=actor,
                    reason=reason)


@transaction.atomic
def service_suspend(*, service: Service, reason_code: str, actor: User | None,
                    reason: str = "", now=None) -> ServiceOperation:
    """Suspend by administrator, for abuse, for non-payment or expiry."""
    service = _locked(service)
    target = STATUS_FOR_REASON[SuspendReason(reason_code)]
    if service.status == target and service.suspend_reason == reason_code:
        raise ActionNotAllowed("The service is already suspended for this reason.")
    return _request(service, operation=Operation.SUSPENSION, target=target, actor=actor,
                    suspend_reason=reason_code, now=now,
                    reason=reason or f"Suspended {SuspendReason(reason_code).label}")


@transaction.atomic
def service_resume(*, service: Service, actor: User | None,
                   reason: str = "Resumed", now=None) -> ServiceOperation:
    """Resume a suspended service, whatever suspended it (staff, or a payment for
    a non-payment suspension: the billing layer checks the reason before calling)."""
    service = _locked(service)
    return _request(service, operation=Operation.RESUME, target=S.ACTIVE, actor=actor,
                    reason=reason, now=now)


def plan_has_capacity(plan) -> bool:
    return module_for(plan).has_capacity(plan)


# Paid orders, renewals and configuration changes (called by the cart at checkout) -------------
@transaction.atomic
def service_start_after_payment(*, service: Service, actor: User | None, now=None) -> Service:
    """A paid new service: activate it, or wait in Configuration required (quick order)
    until the client gives the parameters the module needs."""
    service = _locked(service)
    if service.plan.needs_configuration and missing_parameters(service):
        return service_transition(service=service, to=S.CONFIGURATION_REQUIRED, actor=actor,
                                  reason="Paid; waiting for the client's parameters", now=now)
    _request(service, operation=Operation.ACTIVATION, target=S.ACTIVE, actor=actor,
             reason="Paid", now=now)
    return service


@transaction.atomic
def service_configure(*, service: Service, parameters: dict, actor: User,
                      request=None) -> ServiceOperation:
    """The client fills in a quick-ordered service's parameters; activation follows."""
    service = _locked(service)
    if service.status != S.CONFIGURATION_REQUIRED:
        raise ActionNotAllowed("This service needs no more parameters.")
    service.parameters = {**service.parameters,
                          **clean_parameters(service.plan.product_type, parameters)}
    service.save(update_fields=["parameters"])
    log_action(actor=actor, action="service.configured", obj=service, client=service.client,
               request=request, details={"parameters": service.parameters})
    return _request(service, operation=Operation.ACTIVATION, target=S.ACTIVE, actor=actor,
                    reason="Parameters given")


@transaction.atomic
def service_renew(*, service: Service, new_expires_on, actor: User | None,
                  reason: str = "Renewed", now=None) -> Service:
    """Extend a paid period. The expiry moves now (the period is paid whatever the
    panel does); the module is told through a renewal operation, which also resumes a
    service stopped for non-payment or expiry."""
    service = _locked(service)
    previous = service.expires_on
    service.expires_on = new_expires_on
    if service.anchor_day is None and previous is not None:
        service.anchor_day = previous.day
    service.save(update_fields=["expires_on", "anchor_day"])
    history_note(service=service, actor=actor, reason=f"{reason}: now expires {new_expires_on}",
                 details={"from": str(previous), "to": str(new_expires_on)}, now=now)
    target = renewal_target(service.status, service.suspend_reason)
    if target is not None:
        _request(service, operation=Operation.RENEWAL, target=target, actor=actor, reason=reason,
                 now=now)
    return service


def renewal_target(status: str, suspend_reason: str) -> str | None:
    """Where a renewal leaves a service: the module hears of it (a renewal operation) unless
    the service is busy, not provisioned yet or stopped for abuse, when the expiry is
    enough. Paying lifts a suspension for non-payment or expiry, not the client's own."""
    if status == S.ACTIVE:
        return S.ACTIVE
    if status == S.SUSPENDED:
        if suspend_reason in (SuspendReason.NONPAYMENT, SuspendReason.EXPIRED):
            return S.ACTIVE
        return S.SUSPENDED
    if status == S.SUSPENDED_BY_ADMIN:
        return S.SUSPENDED_BY_ADMIN
    return None


# The set-based renewal, as one statement: each service's expiry moved (the anchor day
# kept), a history row saying so, and for those the module hears of (a target), the move
# to In progress with its history row and its renewal operation (see service_renew).
_RENEW_MANY = """
WITH r AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(expiries)s::date[], %(targets)s::text[])
        AS r (id, expires_on, target)),
old AS MATERIALIZED (
    SELECT s.id, s.status, s.operation, s.suspend_reason, s.plan_id,
           s.expires_on AS previous, r.expires_on, r.target
    FROM services_service s JOIN r ON r.id = s.id),
moved AS (
    UPDATE services_service s
       SET expires_on = old.expires_on,
           anchor_day = coalesce(s.anchor_day, extract(day FROM old.previous)::int),
           status = CASE WHEN old.target IS NULL THEN s.status ELSE 'in_progress' END,
           operation = CASE WHEN old.target IS NULL THEN s.operation ELSE 'renewal' END
      FROM old WHERE s.id = old.id
    RETURNING s.id),
history AS (
    -- Per service, the note and then the move (ids in that order, as service_renew's).
    INSERT INTO services_servicehistory (service_id, created_at, actor_id, actor_label,
                                         from_status, to_status, operation, reason, details)
    SELECT id, %(now)s, NULL, 'system', from_status, to_status, operation, reason, details
    FROM (
        SELECT old.id, 1 AS place, old.status AS from_status, old.status AS to_status,
               old.operation, %(reason)s || ': now expires ' || old.expires_on AS reason,
               jsonb_build_object('from', old.previous::text,
                                  'to', old.expires_on::text) AS details
        FROM old JOIN moved USING (id)
        UNION ALL
        SELECT old.id, 2, old.status, 'in_progress', 'renewal', %(reason)s,
               jsonb_build_object('target', old.target)
        FROM old JOIN moved USING (id) WHERE old.target IS NOT NULL) rows
    ORDER BY id, place),
operations AS (
    INSERT INTO services_serviceoperation (service_id, kind, status, target_status,
                                           suspend_reason, previous_status,
                                           previous_suspend_reason, params, attempts, error,
                                           requested_by_id, created_at)
    SELECT old.id, 'renewal', 'pending', old.target,
           CASE WHEN old.target = old.status THEN old.suspend_reason ELSE '' END,
           old.status, old.suspend_reason, '{}'::jsonb, 0, '', NULL, %(now)s
    FROM old JOIN moved USING (id) WHERE old.target IS NOT NULL
    RETURNING id, service_id)
SELECT operations.id, old.plan_id FROM operations JOIN old ON old.id = operations.service_id"""


def service_renew_many(*, expiries: dict[int, date], now, reason: str = "Renewed") -> None:
    """``service_renew`` for many paid renewals at once (the billing clock's), set-based:
    the services are locked and read, each one's target worked out by ``renewal_target``,
    and the expiries, history rows and renewal operations written in one statement; the
    operations go to the workers in batches after commit. The caller holds the services
    locked since it read their expiries."""
    ids = sorted(expiries)
    rows = Service.objects.filter(pk__in=ids).order_by("pk").select_for_update().values_list(
        "pk", "status", "suspend_reason")
    targets = {pk: renewal_target(status, suspend_reason)
               for pk, status, suspend_reason in rows}
    with connection.cursor() as cursor:
        cursor.execute(_RENEW_MANY, {
            "ids": ids, "expiries": [expiries[pk] for pk in ids],
            "targets": [targets.get(pk) for pk in ids], "now": now, "reason": reason})
        operations_dispatch(cursor.fetchall())


@transaction.atomic
def service_apply_configuration(*, service: Service, values: dict, plan=None,
                                actor: User | None, now=None) -> Service:
    """New addon values (addon id -> AddonValue) and possibly a new plan, paid for;
    a running service gets a configuration-change operation."""
    service = _locked(service)
    if plan is not None and plan.pk != service.plan_id:
        old = service.plan.name
        service.plan = plan
        service.save(update_fields=["plan"])
        ServiceAddon.objects.filter(service=service).exclude(addon__plan=plan).delete()
        history_note(service=service, actor=actor, reason=f"Tariff changed from {old} to "
                                                          f"{plan.name}", now=now)
    for addon_id, value in values.items():
        ServiceAddon.objects.update_or_create(
            service=service, addon_id=addon_id,
            defaults={"quantity": value.quantity, "choice_id": value.choice_id})
    addons = {str(k): str(v.quantity) for k, v in values.items()}
    if service.status in RECONFIGURABLE_STATUSES:
        _request(service, operation=Operation.RECONFIGURATION, target=service.status,
                 actor=actor, reason="Configuration changed", params={"addons": addons},
                 now=now)
    elif service.status == S.IN_PROGRESS:
        # Paid while the module works on something else: it must still reach the module,
        # once that operation ends (services.operations sends it).
        due = {"addons": {**(service.configuration_due or {}).get("addons", {}), **addons}}
        Service.objects.filter(pk=service.pk).update(configuration_due=due)
        service.configuration_due = due
        history_note(service=service, actor=actor,
                     reason="Configuration changed: sent to the module when the current "
                            "operation ends", now=now)
    return service

"""What clients and staff may do to a service, and the use cases that do it.

Each use case checks who may do it in which status, then goes through the state
machine (``services.lifecycle``). A refusal raises ``ActionNotAllowed`` with a message
for the person who asked, and changes nothing.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import transaction

from accounts.actionlog import log_action
from accounts.models import User
from services.lifecycle import IllegalTransition, OperationInProgress, service_request
from services.models import (
    RECONFIGURABLE_STATUSES,
    Charging,
    Operation,
    Service,
    ServiceOperation,
    ServiceStatus,
    SuspendReason,
)
from services.modules import module_for

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
    from services.lifecycle import history_note

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
    from services.lifecycle import service_transition

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
    from services.lifecycle import STATUS_FOR_REASON

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
    from services.lifecycle import service_transition
    from services.parameters import missing_parameters

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
    from services.parameters import clean_parameters

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
    from services.lifecycle import history_note

    service = _locked(service)
    previous = service.expires_on
    service.expires_on = new_expires_on
    if service.anchor_day is None and previous is not None:
        service.anchor_day = previous.day
    service.save(update_fields=["expires_on", "anchor_day"])
    history_note(service=service, actor=actor, reason=f"{reason}: now expires {new_expires_on}",
                 details={"from": str(previous), "to": str(new_expires_on)}, now=now)
    target = _renewal_target(service)
    if target is not None:
        _request(service, operation=Operation.RENEWAL, target=target, actor=actor, reason=reason,
                 now=now)
    return service


def _renewal_target(service: Service) -> str | None:
    if service.status == S.ACTIVE:
        return S.ACTIVE
    if service.status == S.SUSPENDED:
        # Paying lifts a suspension for non-payment or expiry, not the client's own.
        if service.suspend_reason in (SuspendReason.NONPAYMENT, SuspendReason.EXPIRED):
            return S.ACTIVE
        return S.SUSPENDED
    if service.status == S.SUSPENDED_BY_ADMIN:
        return S.SUSPENDED_BY_ADMIN
    return None  # busy, ordered or suspended for abuse: the expiry is enough


@transaction.atomic
def service_apply_configuration(*, service: Service, values: dict, plan=None,
                                actor: User | None, now=None) -> Service:
    """New addon values (addon id -> AddonValue) and possibly a new plan, paid for;
    a running service gets a configuration-change operation."""
    from services.lifecycle import history_note
    from services.models import ServiceAddon

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
    return _request(service, operation=Operation.RECONFIGURATION, target=service.status,
                    actor=actor, reason="Configuration changed while the service was busy",
                    params=due, now=now)

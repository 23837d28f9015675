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
def _delete(service: Service, *, actor: User | None, reason: str):
    from services.lifecycle import service_transition

    if service.status in (S.ORDERED, S.CONFIGURATION_REQUIRED, S.NOT_AVAILABLE):
        # Nothing was provisioned: no module work, the service is simply gone.
        return service_transition(service=service, to=S.DELETED, actor=actor, reason=reason)
    return _request(service, operation=Operation.DELETION, target=S.DELETED, actor=actor,
                    reason=reason)


@transaction.atomic
def service_delete(*, service: Service, actor: User | None, reason: str = "Deleted"):
    return _delete(_locked(service), actor=actor, reason=reason)


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
                    reason: str = "") -> ServiceOperation:
    """Suspend by administrator, for abuse, for non-payment or expiry."""
    from services.lifecycle import STATUS_FOR_REASON

    service = _locked(service)
    target = STATUS_FOR_REASON[SuspendReason(reason_code)]
    if service.status == target and service.suspend_reason == reason_code:
        raise ActionNotAllowed("The service is already suspended for this reason.")
    return _request(service, operation=Operation.SUSPENSION, target=target, actor=actor,
                    suspend_reason=reason_code,
                    reason=reason or f"Suspended {SuspendReason(reason_code).label}")


@transaction.atomic
def service_resume(*, service: Service, actor: User | None,
                   reason: str = "Resumed") -> ServiceOperation:
    """Resume a suspended service, whatever suspended it (staff, or a payment for
    a non-payment suspension: the billing layer checks the reason before calling)."""
    service = _locked(service)
    return _request(service, operation=Operation.RESUME, target=S.ACTIVE, actor=actor,
                    reason=reason)


def plan_has_capacity(plan) -> bool:
    return module_for(plan).has_capacity(plan)

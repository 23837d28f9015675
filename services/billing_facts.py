"""Staff changes to a service's billing facts: who owns it, until when it is paid, and
whether the clock may suspend it.

Staff never edit these fields on the service's page; each change is one of these use
cases, with a reason, a line in the service's history and an entry in the action log
(with the old and new value). A paid renewal is the cart's (``cart.staff_renewal``): it
goes through the order and the ledger as the client's own would.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.dispatch import Signal

from accounts.actionlog import log_action
from accounts.models import Client, User
from services.actions import ActionNotAllowed, service_renew
from services.lifecycle import history_note
from services.models import Charging, Service, ServiceStatus

# Sent after a service changed hands (``service``, ``old_client``, ``new_client``), so the
# layers above drop what the old client still had of it (cart items).
service_transferred = Signal()

REASON_MAX = 200


def _reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ActionNotAllowed("Give a reason.")
    return reason[:REASON_MAX]


def _locked(service: Service) -> Service:
    return Service.objects.select_for_update().select_related("plan", "client").get(
        pk=service.pk)


@transaction.atomic
def service_transfer(*, service: Service, to_client: Client, actor: User, reason: str,
                     request=None) -> Service:
    """Give the service to another client of the same provider, from now on: what was
    charged stays with the old owner; renewals and charges go to the new one."""
    reason = _reason(reason)
    service = _locked(service)
    old_client = service.client
    if service.status == ServiceStatus.DELETED:
        raise ActionNotAllowed("A deleted service cannot be transferred.")
    if to_client.pk == old_client.pk:
        raise ActionNotAllowed("The service already belongs to this client.")
    if to_client.provider_id != old_client.provider_id:
        raise ActionNotAllowed("A service moves only between clients of the same provider.")
    service.client = to_client
    service.save(update_fields=["client"])
    history_note(service=service, actor=actor,
                 reason=f"Transferred from {old_client} to {to_client}: {reason}"[:255],
                 details={"from_client": old_client.pk, "to_client": to_client.pk,
                          "reason": reason})
    details = {"changes": {"client": [str(old_client), str(to_client)]}, "reason": reason,
               "from_client": old_client.pk, "to_client": to_client.pk}
    log_action(actor=actor, action="service.transferred", obj=service, client=old_client,
               request=request, details=details)
    log_action(actor=actor, action="service.transferred", obj=service, client=to_client,
               request=request, details=details)
    service_transferred.send(sender=Service, service=service, old_client=old_client,
                             new_client=to_client)
    return service


@transaction.atomic
def service_extend_free(*, service: Service, until: date, actor: User, reason: str,
                        request=None) -> Service:
    """A staff-granted extension of the paid period, free of charge: no money moves; the
    history and the log say it was free, who granted it and why."""
    reason = _reason(reason)
    service = _locked(service)
    if service.plan.charging != Charging.PERIOD or service.expires_on is None:
        raise ActionNotAllowed("Only a service paid by period, with an expiry, can be "
                               "extended.")
    if service.status == ServiceStatus.DELETED:
        raise ActionNotAllowed("A deleted service cannot be extended.")
    if until <= service.expires_on:
        raise ActionNotAllowed(f"The new expiry must be after {service.expires_on}.")
    previous = service.expires_on
    who = actor.email if actor is not None else "system"
    service_renew(service=service, new_expires_on=until, actor=actor,
                  reason=f"Free extension by {who}: {reason}"[:200])
    log_action(actor=actor, action="service.extended_free", obj=service,
               client=service.client, request=request,
               details={"changes": {"expires_on": [str(previous), str(until)]},
                        "reason": reason, "free": True})
    return service


@transaction.atomic
def service_set_suspension_hold(*, service: Service, until: date | None, actor: User,
                                reason: str, request=None) -> Service:
    """Hold off the clock's suspension for debt or expiry until a day, or lift the hold
    (``until=None``)."""
    reason = _reason(reason)
    service = _locked(service)
    previous = service.suspension_hold_until
    if previous == until:
        raise ActionNotAllowed("Nothing to change.")
    service.suspension_hold_until = until
    service.save(update_fields=["suspension_hold_until"])
    what = f"Suspension held until {until}" if until else "Suspension hold lifted"
    history_note(service=service, actor=actor, reason=f"{what}: {reason}"[:255],
                 details={"from": str(previous) if previous else None,
                          "to": str(until) if until else None})
    log_action(actor=actor, action="service.suspension_hold_changed", obj=service,
               client=service.client, request=request,
               details={"changes": {"suspension_hold_until": [
                   str(previous or ""), str(until or "")]}, "reason": reason})
    return service

"""A module that pretends to be a panel: each operation completes after a delay.

Settings (the plan's ``module_settings``):

* ``delay``: seconds between queueing and completion (default: ``SIMULATED_MODULE_DELAY``);
* ``capacity``: how many live services of the plan fit; beyond it activation reports
  no capacity and the service becomes Not available;
* ``fail``: operation kinds that fail, e.g. ``["reboot"]``, to see failures and retries.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings as django_settings

from services.modules.base import ModuleResult, ProcessingModule

LIVE = ("active", "suspended", "suspended_by_admin", "suspended_abuse")
_NETWORK = ipaddress.ip_network("10.20.0.0/16")


class SimulatedModule(ProcessingModule):
    name = "simulated"
    label = "Simulated (completes by itself after a delay)"

    def delay_seconds(self, operation) -> float:
        return float(self.settings.get("delay", django_settings.SIMULATED_MODULE_DELAY))

    def has_capacity(self, plan) -> bool:
        capacity = self.settings.get("capacity")
        if capacity is None:
            return True
        return plan.services.filter(status__in=LIVE).count() < int(capacity)

    def run(self, operation) -> ModuleResult:
        if operation.kind in self.settings.get("fail", ()):
            return ModuleResult(ok=False, message=f"Simulated failure of {operation.kind}.")
        return super().run(operation)

    def activation(self, service, operation) -> ModuleResult:
        if not self.has_capacity(service.plan):
            return ModuleResult(ok=False, no_capacity=True,
                                message="No capacity left for this plan.")
        parameters = {}
        if service.is_server and not service.parameters.get("ip_addresses"):
            parameters["ip_addresses"] = [str(_NETWORK[(service.pk % 65000) + 10])]
        if service.plan.product_type == "domain" and not service.parameters.get("nameservers"):
            parameters["nameservers"] = ["ns1.openbill.example", "ns2.openbill.example"]
        return ModuleResult(ok=True, message="Activated", parameters=parameters)

    def _ok(self, service, operation) -> ModuleResult:
        return ModuleResult(ok=True, message=f"{operation.get_kind_display().capitalize()} done")

    suspension = resume = reboot = reconfiguration = renewal = transfer = deletion = _ok

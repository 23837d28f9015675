"""The interface every processing module implements.

A module provisions services on a panel or a registrar (VMmanager, cPanel, ...). Each
operation receives the service and the operation record; it must be idempotent: the
same operation (``operation.idempotency_key``) run twice has the effect of once, as a
redelivered Celery task may run it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.models import Service, ServiceOperation, TariffPlan


@dataclass(frozen=True)
class ModuleResult:
    ok: bool
    message: str = ""
    no_capacity: bool = False
    # Parameters the module learned or assigned (IP addresses, panel ids, ...).
    parameters: dict = field(default_factory=dict)


class ModuleError(Exception):
    """A module could not do what was asked; the message is shown to staff."""


class ProcessingModule:
    name = "base"
    label = "Base"
    # Operations of a manual module wait for staff to mark them done.
    is_manual = False

    def __init__(self, settings: dict | None = None):
        self.settings = settings or {}

    def delay_seconds(self, operation: ServiceOperation) -> float:
        """How long after it is queued the operation runs."""
        return 0

    def has_capacity(self, plan: TariffPlan) -> bool:
        return True

    def run(self, operation: ServiceOperation) -> ModuleResult:
        """Dispatch the operation to the method of its kind."""
        handler = getattr(self, operation.kind)
        return handler(operation.service, operation)

    # One method per operation ---------------------------------------------------------
    def activation(self, service: Service, operation: ServiceOperation) -> ModuleResult:
        raise NotImplementedError

    def suspension(self, service: Service, operation: ServiceOperation) -> ModuleResult:
        raise NotImplementedError

    def resume(self, service: Service, operation: ServiceOperation) -> ModuleResult:
        raise NotImplementedError

    def reboot(self, service: Service, operation: ServiceOperation) -> ModuleResult:
        raise NotImplementedError

    def reconfiguration(self, service: Service, operation: ServiceOperation) -> ModuleResult:
        raise NotImplementedError

    def renewal(self, service: Service, operation: ServiceOperation) -> ModuleResult:
        raise NotImplementedError

    def transfer(self, service: Service, operation: ServiceOperation) -> ModuleResult:
        raise NotImplementedError

    def deletion(self, service: Service, operation: ServiceOperation) -> ModuleResult:
        raise NotImplementedError

"""Processing modules by name. A new panel integration registers itself here."""

from __future__ import annotations

from services.modules.base import ModuleError, ModuleResult, ProcessingModule
from services.modules.manual import ManualModule
from services.modules.simulated import SimulatedModule

MODULES: dict[str, type[ProcessingModule]] = {
    ManualModule.name: ManualModule,
    SimulatedModule.name: SimulatedModule,
}


def register_module(module: type[ProcessingModule]) -> type[ProcessingModule]:
    MODULES[module.name] = module
    return module


def module_for(plan) -> ProcessingModule:
    try:
        module = MODULES[plan.module]
    except KeyError as error:
        raise ModuleError(f"Unknown processing module {plan.module!r}.") from error
    return module(plan.module_settings or {})


def module_choices() -> list[tuple[str, str]]:
    return [(name, module.label) for name, module in MODULES.items()]


__all__ = ["MODULES", "ModuleError", "ModuleResult", "ProcessingModule", "module_choices",
           "module_for", "register_module"]

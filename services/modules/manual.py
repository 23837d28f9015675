from services.modules.base import ModuleResult, ProcessingModule


class ManualModule(ProcessingModule):
    """Staff do the work by hand and mark each operation done in the staff panel."""

    name = "manual"
    label = "Manual (staff complete each operation)"
    is_manual = True

    def _done(self, service, operation) -> ModuleResult:
        return ModuleResult(ok=True, message="Completed by staff")

    activation = suspension = resume = reboot = reconfiguration = _done
    renewal = transfer = deletion = _done

from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        # Every app's audit checks register themselves with billing.audit (see there).
        autodiscover_modules("audit")

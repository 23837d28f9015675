from django.apps import AppConfig


class EngineConfig(AppConfig):
    name = "engine"
    verbose_name = "Billing clock"

    def ready(self) -> None:
        from engine import signals  # noqa: F401 - what a payment sets in motion

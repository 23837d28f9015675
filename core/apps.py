from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared helpers below every layer: money arithmetic and its template filters."""

    name = "core"
    verbose_name = "Core"

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HistoryConfig(AppConfig):
    """The history of changes: PostgreSQL triggers record every row change of the tracked
    models (history/models.py) with the request that made it; staff read it on each
    object's page. The top layer: it may import every app, and none imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "history"
    verbose_name = _("History of changes")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from history import functions, staff_pages

        staff_pages.attach_to_admins()
        post_migrate.connect(functions.install_after_migrate, sender=self)

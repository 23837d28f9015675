from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    """The staff back office: the dashboard at /staff/ and a client's whole picture on one
    page. The top of the layers: it reads every app, and none imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "backoffice"
    verbose_name = _("Back office")

    def ready(self) -> None:
        from backoffice import staff_pages

        staff_pages.attach()
        from backoffice import activity_pages

        activity_pages.attach()

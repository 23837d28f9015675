from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ConfigConfig(AppConfig):
    """The project package as an app: operator commands that span every layer."""

    default = True
    name = "config"
    verbose_name = "Platform"


class StaffAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "config.staff_site.StaffSite"

from django.conf import settings
from django.contrib import admin


class StaffSite(admin.AdminSite):
    """The staff panel at /staff/: Django's admin, named and styled for the platform."""

    site_header = f"{settings.SITE_NAME} staff panel"
    site_title = f"{settings.SITE_NAME} staff"
    index_title = "Administration"
    enable_nav_sidebar = True

from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin


class StaffSite(admin.AdminSite):
    """The staff panel at /staff/: Django's admin, named and styled for the platform."""

    site_header = f"{settings.SITE_NAME} staff panel"
    site_title = f"{settings.SITE_NAME} staff"
    index_title = "Administration"
    enable_nav_sidebar = True

    def login(self, request, extra_context=None):
        # One sign-in for everyone: the admin's own form would skip allauth's rate
        # limits and second factor, so /staff/login/ sends to allauth's (keeping next).
        return secure_admin_login(super().login)(request, extra_context)

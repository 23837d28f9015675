from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse


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

    def password_change(self, request, extra_context=None):
        # The staff member's own password changes on allauth's page, which limits wrong
        # old passwords and logs the change like every other path.
        return redirect(reverse("account_change_password"))

    def password_change_done(self, request, extra_context=None):
        return redirect(reverse("account_change_password"))

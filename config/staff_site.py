from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse


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

    # Pages that are not a model's list (a report) shown in their app's section of the
    # index and the sidebar: app label -> [(name, url name, permission)]. Apps add theirs
    # with ``link_register`` from their admin module.
    extra_links: dict[str, list[tuple[str, str, str]]]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra_links = {}

    def link_register(self, *, app_label: str, name, url_name: str, permission: str) -> None:
        self.extra_links.setdefault(app_label, []).append((name, url_name, permission))

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            for name, url_name, permission in self.extra_links.get(app["app_label"], []):
                if not request.user.has_perm(permission):
                    continue
                try:
                    url = reverse(f"{self.name}:{url_name}")
                except NoReverseMatch:
                    continue
                app["models"].append({"name": name, "object_name": url_name, "perms": {},
                                      "admin_url": url, "add_url": None, "view_only": True})
        return app_list


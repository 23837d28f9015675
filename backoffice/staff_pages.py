"""The back office takes its places in the staff panel once every admin is registered:
the dashboard becomes the panel's first page (the list of every model moves to
/staff/apps/, and stays in the side bar), and a client's page hangs on the client admin,
linked from its list and its change form. Like the history of changes, it does so from
above, so that no app below imports the back office."""

from __future__ import annotations

from types import MethodType

from django.contrib import admin
from django.contrib.admin import AdminSite
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Client
from backoffice import views


def _apps_index(site: AdminSite, request, extra_context=None):
    """Django's own index page: every app and model the user may open."""
    return AdminSite.index(site, request, {"title": _("All sections"),
                                           **(extra_context or {})})


def attach(site: AdminSite | None = None) -> None:
    site = site or admin.site
    if getattr(site, "_backoffice_attached", False):
        return
    site._backoffice_attached = True
    site.index = MethodType(lambda self, request, extra_context=None:
                            views.dashboard(self, request), site)
    site_urls = site.get_urls

    def get_urls():
        return [path("apps/", site.admin_view(MethodType(_apps_index, site)), name="apps"),
                *site_urls()]

    site.get_urls = get_urls
    _attach_to_client_admin(site._registry[Client])


def _attach_to_client_admin(model_admin) -> None:
    admin_urls = model_admin.get_urls
    site = model_admin.admin_site

    def get_urls():
        return [
            path("<int:pk>/overview/",
                 site.admin_view(MethodType(views.client_page, model_admin)),
                 name="accounts_client_overview"),
            path("<int:pk>/overview/notes/",
                 site.admin_view(MethodType(views.client_note_view, model_admin)),
                 name="accounts_client_note"),
            *admin_urls(),
        ]

    model_admin.get_urls = get_urls
    model_admin.change_form_template = "backoffice/client_change_form.html"
    model_admin.list_display = [*model_admin.list_display, overview_link]


@admin.display(description=gettext_lazy("page"))
def overview_link(client: Client) -> str:
    return format_html('<a href="{}">{}</a>',
                       reverse("admin:accounts_client_overview", args=[client.pk]),
                       _("Open"))

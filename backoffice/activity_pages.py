"""The Current activity page takes its place in the staff panel, at /staff/activity/
(Statistics: who is signed in now, recent sign-ins, the operations queue)."""

from __future__ import annotations

from types import MethodType

from django.contrib import admin
from django.contrib.admin import AdminSite
from django.urls import path

from backoffice.activity_views import current_activity


def attach(site: AdminSite | None = None) -> None:
    site = site or admin.site
    if getattr(site, "_activity_attached", False):
        return
    site._activity_attached = True
    site_urls = site.get_urls

    def get_urls():
        return [path("activity/", site.admin_view(MethodType(current_activity, site)),
                     name="current_activity"),
                *site_urls()]

    site.get_urls = get_urls

"""The staff panel's "History" of an object shows its history of changes.

The history watches the other apps from above, so instead of their admins importing
it, it takes over the history view of each tracked model's admin once every admin is
registered. Django's own view listed only what was done through the admin's forms; the
action log (accounts.ActionLog) still says what staff did, this page says how each row
changed, whoever changed it.
"""

from __future__ import annotations

from types import MethodType

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from history.selectors import is_tracked, object_changes

PERMISSION = "history.view_events"


def object_history_view(self, request, object_id, extra_context=None):
    """Bound to a tracked model's admin as its ``history_view``."""
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    obj = self.get_object(request, unquote(object_id))
    if obj is None:
        return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
    if not self.has_view_or_change_permission(request, obj):
        raise PermissionDenied
    context = {
        **self.admin_site.each_context(request),
        "title": _("History of changes: %(object)s") % {"object": obj},
        "subtitle": None,
        "object": obj,
        "opts": self.model._meta,
        "module_name": str(self.model._meta.verbose_name_plural),
        "changes": object_changes(obj),
        **(extra_context or {}),
    }
    request.current_app = self.admin_site.name
    return TemplateResponse(request, "history/object_history.html", context)


def attach_to_admins(site: admin.AdminSite | None = None) -> None:
    site = site or admin.site
    for model, model_admin in site._registry.items():
        if is_tracked(model):
            model_admin.history_view = MethodType(object_history_view, model_admin)

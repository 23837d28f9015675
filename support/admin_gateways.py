"""Staff panel: Gateways, the support departments' incoming mailboxes. Administrators
change them (a re-authentication first: they hold a mailbox password); support staff see
how polling goes and may test a connection."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.actionlog import log_action
from accounts.admin_base import ReauthenticatedWritesAdmin
from support import mailboxes
from support.forms_gateways import MailGatewayForm
from support.models import MailGateway, MailGatewayPoll

TEST_PERMISSION = "support.test_mailgateway"
POLLS_SHOWN = 20


@admin.register(MailGateway)
class MailGatewayAdmin(ReauthenticatedWritesAdmin):
    form = MailGatewayForm
    list_display = ["__str__", "department", "is_enabled", "last_polled_at", "last_result",
                    "last_error"]
    list_filter = ["department", "is_enabled", "last_result"]
    list_select_related = ["department"]
    search_fields = ["host", "username", "folder"]
    readonly_fields = ["uidvalidity", "last_uid", "last_polled_at", "last_result",
                       "last_error", "recent_polls"]
    fieldsets = [
        (None, {"fields": ["department", "is_enabled"]}),
        (gettext_lazy("Mailbox"), {"fields": ["host", "port", "security", "username",
                                              "replace_password", "folder", "mark_seen"]}),
        (gettext_lazy("Polling"), {"fields": ["last_polled_at", "last_result", "last_error",
                                              "uidvalidity", "last_uid", "recent_polls"]}),
    ]
    change_form_template = "admin/support/mailgateway/change_form.html"

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets[:2]  # nothing has been polled yet
        return self.fieldsets

    @admin.display(description=gettext_lazy("recent connections"))
    def recent_polls(self, obj):
        polls = obj.polls.all()[:POLLS_SHOWN]
        return render_to_string("admin/support/mailgateway/_polls.html", {"polls": polls})

    def get_urls(self):
        return [
            path("<int:pk>/test/", self.admin_site.admin_view(self.test_view),
                 name="support_mailgateway_test"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["can_test"] = obj is not None and request.user.has_perm(TEST_PERMISSION)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def test_view(self, request, pk: int):
        """Sign in to the mailbox with the saved settings and look at the folder."""
        if not request.user.has_perm(TEST_PERMISSION):
            raise PermissionDenied
        gateway = get_object_or_404(MailGateway, pk=pk)
        if request.method != "POST":
            return redirect("admin:support_mailgateway_change", pk)
        poll = mailboxes.gateway_test(gateway=gateway, now=timezone.now(),
                                      reason=f"Connection test by {request.user.email}")
        log_action(actor=request.user, action="mailgateway.connection_tested", obj=gateway,
                   request=request, details={"result": poll.status, "poll": poll.pk})
        if poll.status == MailGatewayPoll.Status.SUCCEEDED:
            messages.success(request, _("Connected and signed in. %(note)s") %
                             {"note": poll.note})
        else:
            messages.error(request, _("The connection test failed: %(error)s") %
                           {"error": poll.error})
        return redirect("admin:support_mailgateway_change", pk)

"""Staff panel: the ticket queue, a ticket's thread with the reply form, departments and
categories. Replies and notes go through support.tickets like the client's."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin_base import StaffModelAdmin
from support import (
    admin_announcements,  # noqa: F401 (registers Notifications)
    admin_answer_templates,  # noqa: F401 (registers Answer templates)
)
from support.admin_queue import (
    AssigneeFilter,
    DepartmentFilter,
    ProductTypeFilter,
    QueueFilter,
    TicketQueueMixin,
)
from support.admin_reply import TicketReplyMixin
from support.admin_sla import SlaStateFilter, sla_column  # also registers the SLA admin
from support.admin_triage import DecisionFilter, InboundTriageMixin
from support.downloads import attachment_response
from support.models import (
    Attachment,
    Category,
    InboundEmail,
    StaffEvent,
    SupportDepartment,
    Ticket,
)
from support.selectors import department_staff, staff_tickets
from support.sla import sla_track
from support.staff_mail import staff_notify

REPLY_PERMISSION = "support.reply_ticket"
RAW_PERMISSION = "support.download_inboundemail"


@admin.register(SupportDepartment)
class SupportDepartmentAdmin(StaffModelAdmin):
    list_display = ["name", "slug", "email", "reopen_days", "archive_days", "position"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Category)
class CategoryAdmin(StaffModelAdmin):
    list_display = ["name", "department"]
    list_filter = ["department"]


@admin.register(Ticket)
class TicketAdmin(TicketQueueMixin, TicketReplyMixin, StaffModelAdmin):
    list_display = ["display_number", "subject", "client", "department", "status", sla_column,
                    "priority", "assignee", "updated_at"]
    list_filter = [QueueFilter, DepartmentFilter, "status", AssigneeFilter, "priority",
                   SlaStateFilter, ProductTypeFilter]
    list_select_related = ["client", "department", "assignee"]
    # A ticket number ("T-123456" or "123456") is found by get_search_results.
    search_fields = ["subject", "client__name", "client__email"]
    fields = ["number", "subject", "client", "opened_by", "service", "department", "category",
              "priority", "status", "assignee", "created_at", "updated_at", "closed_at",
              "rating", "rating_comment", "linked_to", "merged_into"]
    # The department changes by Transfer (with its note), never by editing the ticket.
    readonly_fields = ["number", "subject", "client", "opened_by", "service", "department",
                       "created_at", "updated_at", "closed_at", "rating", "rating_comment",
                       "linked_to", "merged_into"]
    change_form_template = "admin/support/ticket/change_form.html"

    @admin.display(description=gettext_lazy("number"), ordering="number")
    def display_number(self, obj):
        return obj.display_number

    def has_add_permission(self, request):
        return False  # tickets come from clients (and, later, from e-mail)

    def has_delete_permission(self, request, obj=None):
        return False  # the thread is the record of what was said

    def save_model(self, request, obj, form, change):
        now = timezone.now()  # one moment for the close, the SLA clock and the mail
        if "status" in form.changed_data:
            obj.closed_at = now if obj.is_closed else None
        sla_track(obj, now=now)  # status, priority or department may have changed
        super().save_model(request, obj, form, change)
        if "assignee" in form.changed_data and obj.assignee_id is not None:
            # In the admin's transaction: the mail is written with the change or not at all.
            staff_notify(obj, StaffEvent.ASSIGNED, now=now, actor=request.user)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None and "assignee" in form.base_fields:
            # Only who works the ticket's department (or has it already) may be chosen.
            form.base_fields["assignee"].queryset = form.base_fields["assignee"].queryset \
                .filter(Q(pk__in=department_staff(obj.department).values("pk"))
                        | Q(pk=obj.assignee_id)).distinct()
        return form

    def get_urls(self):
        # The answer form's addresses (reply, templates, presence): TicketReplyMixin.
        return [
            *self.queue_urls(),
            path("<int:pk>/attachments/<int:attachment_id>/",
                 self.admin_site.admin_view(self.attachment_view),
                 name="support_ticket_attachment"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            context.update(self.side_panel_context(request, obj))
            context["thread"] = obj.messages.select_related("author").prefetch_related(
                "attachments")
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def attachment_view(self, request, pk: int, attachment_id: int):
        if not request.user.has_perm("support.view_ticket"):
            raise PermissionDenied
        attachment = get_object_or_404(Attachment, pk=attachment_id, message__ticket_id=pk,
                                       message__ticket__in=staff_tickets(request.user))
        return attachment_response(attachment)


@admin.register(InboundEmail)
class InboundEmailAdmin(InboundTriageMixin, StaffModelAdmin):
    """Every message received, read-only: the E-mail list ("To decide" first: unknown
    senders) filtered by outcome, each with its raw source as a download; staff decide on
    unknown senders' mail through support.admin_triage."""

    list_display = ["received_at", "sender", "subject", "outcome", "route", "ticket",
                    "decided_by"]
    list_filter = [DecisionFilter, "outcome", "route", "department"]
    list_select_related = ["ticket"]
    search_fields = ["sender", "subject", "=message_id"]
    fields = ["received_at", "route", "department", "message_id", "sender", "subject",
              "outcome", "ticket", "ticket_message", "error", "raw_download", "spam_rule",
              "decided_by", "decided_at"]
    readonly_fields = fields
    change_form_template = "admin/support/inboundemail/change_form.html"

    def has_add_permission(self, request):
        return False  # mail arrives by the pipe (and later IMAP), never by hand

    def has_change_permission(self, request, obj=None):
        return False  # the record of what was received

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("raw source"))
    def raw_download(self, obj):
        return format_html('<a href="{}">{}</a>',
                           reverse("admin:support_inboundemail_raw", args=[obj.pk]),
                           _("Download the raw message (.eml)"))

    def get_urls(self):
        return [
            path("<int:pk>/raw/", self.admin_site.admin_view(self.raw_view),
                 name="support_inboundemail_raw"),
            *super().get_urls(),
        ]

    def raw_view(self, request, pk: int):
        if not request.user.has_perm(RAW_PERMISSION):
            raise PermissionDenied
        received = get_object_or_404(InboundEmail, pk=pk)
        # Always a download: the browser never renders what a stranger sent.
        response = HttpResponse(bytes(received.raw), content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="message-{received.pk}.eml"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


# Admin pages kept in their own modules register themselves when imported: staff's ticket
# e-mail subscriptions and staff mail (outgoing), the incoming mailboxes (Gateways).
from support import admin_gateways, admin_outgoing  # noqa: E402, F401

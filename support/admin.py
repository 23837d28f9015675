"""Staff panel: the ticket queue, a ticket's thread with the reply form, departments and
categories. Replies and notes go through support.tickets like the client's."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin_base import StaffModelAdmin
from support import admin_announcements, tickets  # noqa: F401 (registers Notifications)
from support.downloads import attachment_response
from support.forms import StaffReplyForm
from support.models import (
    Attachment,
    Category,
    InboundEmail,
    MessageKind,
    SupportDepartment,
    Ticket,
)

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


class OpenFilter(admin.SimpleListFilter):
    """Active tickets (the queue) by default; closed ones on request."""

    title = gettext_lazy("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("all", _("All tickets")), ("mine", _("My tickets"))]

    def choices(self, changelist):
        yield {"selected": self.value() is None, "display": _("Active tickets"),
               "query_string": changelist.get_query_string(remove=[self.parameter_name])}
        for value, label in self.lookup_choices:
            yield {"selected": self.value() == value, "display": label,
                   "query_string": changelist.get_query_string({self.parameter_name: value})}

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset
        if self.value() == "mine":
            return queryset.filter(assignee=request.user).exclude(status="closed")
        return queryset.exclude(status="closed")


@admin.register(Ticket)
class TicketAdmin(StaffModelAdmin):
    list_display = ["display_number", "subject", "client", "department", "status", "priority",
                    "assignee", "updated_at"]
    list_filter = [OpenFilter, "department", "status",
                   ("assignee", admin.RelatedOnlyFieldListFilter), "priority"]
    list_select_related = ["client", "department", "assignee"]
    search_fields = ["subject", "client__name", "client__email", "=number"]
    fields = ["number", "subject", "client", "opened_by", "service", "department", "category",
              "priority", "status", "assignee", "created_at", "updated_at", "closed_at",
              "rating", "rating_comment", "linked_to"]
    readonly_fields = ["number", "subject", "client", "opened_by", "service", "created_at",
                       "updated_at", "closed_at", "rating", "rating_comment", "linked_to"]
    raw_id_fields = ["assignee"]
    change_form_template = "admin/support/ticket/change_form.html"

    @admin.display(description=gettext_lazy("number"), ordering="number")
    def display_number(self, obj):
        return obj.display_number

    def has_add_permission(self, request):
        return False  # tickets come from clients (and, later, from e-mail)

    def has_delete_permission(self, request, obj=None):
        return False  # the thread is the record of what was said

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            obj.closed_at = timezone.now() if obj.is_closed else None
        super().save_model(request, obj, form, change)

    def get_urls(self):
        return [
            path("<int:pk>/reply/", self.admin_site.admin_view(self.reply_view),
                 name="support_ticket_reply"),
            path("<int:pk>/attachments/<int:attachment_id>/",
                 self.admin_site.admin_view(self.attachment_view),
                 name="support_ticket_attachment"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            context["thread"] = obj.messages.select_related("author").prefetch_related(
                "attachments")
            if request.user.has_perm(REPLY_PERMISSION):
                context["reply_form"] = context.get("reply_form") or StaffReplyForm()
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def reply_view(self, request, pk: int):
        if not request.user.has_perm(REPLY_PERMISSION):
            raise PermissionDenied
        ticket = get_object_or_404(Ticket, pk=pk)
        if request.method != "POST":
            return redirect("admin:support_ticket_change", pk)
        form = StaffReplyForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            write = tickets.ticket_note if data["kind"] == MessageKind.INTERNAL_NOTE \
                else tickets.ticket_reply_staff
            try:
                write(ticket=ticket, user=request.user, body=data["body"],
                      attachments=data["attachments"], now=timezone.now())
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                self.log_change(request, ticket, _("Note added") if write is tickets.ticket_note
                                else _("Reply sent"))
                messages.success(request, _("Saved."))
        else:
            for errors in form.errors.values():
                messages.error(request, " ".join(errors))
        return redirect("admin:support_ticket_change", pk)

    def attachment_view(self, request, pk: int, attachment_id: int):
        if not request.user.has_perm("support.view_ticket"):
            raise PermissionDenied
        attachment = get_object_or_404(Attachment, pk=attachment_id, message__ticket_id=pk)
        return attachment_response(attachment)


@admin.register(InboundEmail)
class InboundEmailAdmin(StaffModelAdmin):
    """Every message received, read-only: the E-mail list (unknown senders first to look at)
    filtered by outcome, each with its raw source as a download."""

    list_display = ["received_at", "sender", "subject", "outcome", "route", "ticket"]
    list_filter = ["outcome", "route", "department"]
    list_select_related = ["ticket"]
    search_fields = ["sender", "subject", "=message_id"]
    fields = ["received_at", "route", "department", "message_id", "sender", "subject",
              "outcome", "ticket", "ticket_message", "error", "raw_download"]
    readonly_fields = fields

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

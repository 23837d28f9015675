"""Staff panel: the E-mail screen's decisions on mail from unknown senders (turn into a
ticket, add as a reply, discard and maybe invite, block the sender) and the spam rules.

Each decision has a confirmation page that previews what the message becomes; a POST calls
one function of support.triage, which decides once however often it is submitted."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin_base import StaffModelAdmin
from support import triage
from support.inbound import ticket_subject
from support.models import InboundOutcome, SpamRule
from support.selectors import staff_support_departments, staff_tickets
from support.triage_forms import BlockForm, DiscardForm, SpamRuleForm, TicketFromMailForm

DECIDE_PERMISSION = "support.decide_inboundemail"
TO_DECIDE = InboundOutcome.UNKNOWN_SENDER


class DecisionFilter(admin.SimpleListFilter):
    """"To decide" (an unknown sender nobody has decided on) by default, with its count;
    choosing an outcome in the other filter shows that outcome instead."""

    title = gettext_lazy("view")
    parameter_name = "view"

    def __init__(self, request, params, model, model_admin):
        self.request = request  # for the count, in the user's scope
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        return [("spam", _("Spam")), ("decided", _("Decided by staff")),
                ("all", _("All e-mail"))]

    def choices(self, changelist):
        to_decide = changelist.model_admin.get_queryset(self.request).filter(
            outcome=TO_DECIDE).count()
        yield {"selected": self.value() is None and not self._by_outcome,
               "display": _("To decide (%(count)s)") % {"count": to_decide},
               "query_string": changelist.get_query_string(
                   remove=[self.parameter_name, "outcome__exact"])}
        for value, label in self.lookup_choices:
            yield {"selected": self.value() == value,
                   "display": label,
                   "query_string": changelist.get_query_string(
                       {self.parameter_name: value}, remove=["outcome__exact"])}

    def queryset(self, request, queryset):
        self._by_outcome = "outcome__exact" in request.GET
        if self.value() == "spam":
            return queryset.filter(outcome=InboundOutcome.SPAM)
        if self.value() == "decided":
            return queryset.filter(decided_at__isnull=False)
        if self.value() == "all" or self._by_outcome:
            return queryset
        return queryset.filter(outcome=TO_DECIDE)


class InboundTriageMixin:
    """The decisions on InboundEmailAdmin (support.admin): URLs, pages and the scope."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("decided_by", "spam_rule")
        if request.user.is_superuser or not self.has_view_permission(request):
            # Who may not look at all is refused by the permission check (a 403, not a
            # "no such message").
            return queryset
        # Mail to a department's mailbox is for its staff; mail to none, for all of support.
        return queryset.filter(Q(department__isnull=True)
                               | Q(department__in=staff_support_departments(request.user)))

    def get_urls(self):
        views = [("ticket", self.ticket_view), ("reply", self.reply_view),
                 ("discard", self.discard_view), ("block", self.block_view)]
        return [*[path(f"<int:pk>/{name}/", self.admin_site.admin_view(view),
                       name=f"support_inboundemail_{name}") for name, view in views],
                *super().get_urls()]

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            context.update(self._decision_context(request, obj))
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def _decision_context(self, request, inbound) -> dict:
        try:
            text, _html, uploads = triage.content(inbound, reply=inbound.ticket_id is not None)
        except ValidationError as error:
            text, uploads = " ".join(error.messages), []
        return {
            "inbound": inbound, "preview_text": text,
            "preview_files": [(upload.name, upload.size) for upload in uploads],
            "decidable": triage.is_decidable(inbound),
            "can_decide": request.user.has_perm(DECIDE_PERMISSION),
            "can_reply": inbound.ticket_id is not None and staff_tickets(request.user).filter(
                pk=inbound.ticket_id).exists(),
        }

    def _inbound(self, request, pk: int):
        if not request.user.has_perm(DECIDE_PERMISSION):
            raise PermissionDenied
        return get_object_or_404(self.get_queryset(request), pk=pk)

    @staticmethod
    def _posted(request):
        # An empty POST (a plain "Discard") is a submitted form all the same.
        return request.POST if request.method == "POST" else None

    def _page(self, request, inbound, *, decision: str, title: str, form=None, **extra):
        return render(request, "admin/support/inboundemail/decide.html", {
            **self.admin_site.each_context(request), **self._decision_context(request, inbound),
            "opts": self.model._meta, "title": title, "decision": decision, "form": form,
            "media": form.media if form is not None else None, **extra})

    def _decide(self, request, inbound, form, write, **arguments):
        """Run one decision of support.triage: (what it made, None); or (None, the
        message's page) when someone decided it meanwhile; or (None, None) when refused,
        the reason on the form. A refusal changes nothing."""
        try:
            return write(inbound_id=inbound.pk, actor=request.user, now=timezone.now(),
                         request=request, **arguments), None
        except ValidationError as error:
            if error.code == "decided":
                messages.warning(request, " ".join(error.messages))
                return None, redirect("admin:support_inboundemail_change", inbound.pk)
            form.add_error(None, error)
            return None, None

    def ticket_view(self, request, pk: int):
        inbound = self._inbound(request, pk)
        form = TicketFromMailForm(self._posted(request), user=request.user, initial={
            "department": inbound.department_id,
            "subject": ticket_subject(inbound.subject)})
        if request.method == "POST" and triage.is_decidable(inbound) and form.is_valid():
            data = form.cleaned_data
            done, elsewhere = self._decide(
                request, inbound, form, triage.inbound_ticket_create, client=data["client"],
                department=data["department"], category=data["category"],
                priority=data["priority"], service=data["service"], subject=data["subject"])
            if elsewhere is not None:
                return elsewhere
            if done is not None:
                messages.success(request, _("Ticket %(number)s was opened for %(client)s.")
                                 % {"number": done.display_number, "client": done.client})
                return redirect("admin:support_ticket_change", done.pk)
        return self._page(request, inbound, decision="ticket", form=form,
                          title=_("Turn into a ticket"))

    def reply_view(self, request, pk: int):
        inbound = self._inbound(request, pk)
        form = forms.Form(self._posted(request))  # a bare confirmation
        if request.method == "POST" and triage.is_decidable(inbound):
            if not staff_tickets(request.user).filter(pk=inbound.ticket_id).exists():
                raise PermissionDenied  # no ticket, or a queue this member does not work
            done, elsewhere = self._decide(request, inbound, form, triage.inbound_reply_add)
            if elsewhere is not None:
                return elsewhere
            if done is not None:
                messages.success(request, _("The message was added to ticket %(number)s.")
                                 % {"number": done.display_number})
                return redirect("admin:support_ticket_change", done.pk)
        title = (_("Add as a reply to ticket %(number)s") % {
            "number": inbound.ticket.display_number} if inbound.ticket_id
            else _("Add as a reply"))
        return self._page(request, inbound, decision="reply", form=form, title=title)

    def discard_view(self, request, pk: int):
        inbound = self._inbound(request, pk)
        form = DiscardForm(self._posted(request), can_invite=triage.can_invite(inbound))
        signup_url = request.build_absolute_uri(reverse("account_signup"))
        if request.method == "POST" and triage.is_decidable(inbound) and form.is_valid():
            invite = form.cleaned_data["invite"]
            done, elsewhere = self._decide(request, inbound, form, triage.inbound_discard,
                                           invite_signup_url=signup_url if invite else "")
            if elsewhere is not None:
                return elsewhere
            if done is not None:
                messages.success(request, _("Discarded; the sender is invited to register.")
                                 if invite else _("Discarded."))
                return redirect("admin:support_inboundemail_changelist")
        subject, body = triage.invitation_texts(inbound, signup_url=signup_url)
        return self._page(request, inbound, decision="discard", form=form,
                          title=_("Discard"), invitation_subject=subject,
                          invitation_body=body)

    def block_view(self, request, pk: int):
        inbound = self._inbound(request, pk)
        form = BlockForm(self._posted(request))
        if request.method == "POST" and triage.is_decidable(inbound) and form.is_valid():
            done, elsewhere = self._decide(request, inbound, form, triage.inbound_sender_block,
                                           kind=form.cleaned_data["kind"])
            if elsewhere is not None:
                return elsewhere
            if done is not None:
                messages.success(request, _("Added to the spam rules: %(rule)s.")
                                 % {"rule": done})
                return redirect("admin:support_inboundemail_changelist")
        return self._page(request, inbound, decision="block", form=form,
                          title=_("Add the sender to the spam rules"),
                          block_sender=triage.block_value(inbound, SpamRule.Kind.SENDER),
                          block_domain=triage.block_value(inbound, SpamRule.Kind.DOMAIN))


@admin.register(SpamRule)
class SpamRuleAdmin(StaffModelAdmin):
    form = SpamRuleForm
    list_display = ["__str__", "enabled", "hits", "last_hit_at", "note", "created_by"]
    list_filter = ["enabled", "kind"]
    list_editable = ["enabled"]
    list_display_links = ["__str__"]
    search_fields = ["value", "header", "note"]
    readonly_fields = ["created_by", "created_at", "hits", "last_hit_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by, obj.created_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)

"""The ticket page's answer form in the staff panel: answer templates, who else is here,
and the collision check before a reply goes out. Mixed into the ticket's ModelAdmin."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.forms import parse_id
from support.answer_templates import answer_for_ticket, answer_templates_for
from support.collision import newest_message_id
from support.followers import mailed_followers
from support.forms import BODY_MAX, StaffReplyForm
from support.models import MessageKind, TemplateScope, Ticket
from support.presence import POLL_SECONDS, others_present, presence_record
from support.replies import staff_answer
from support.selectors import staff_tickets

REPLY_PERMISSION = "support.reply_ticket"
TEMPLATE_PARAM = "answer_template"


def _template_groups(user, ticket: Ticket) -> list[tuple[str, list]]:
    """The picker's option groups: mine, this ticket's department, other departments,
    everyone's."""
    groups: dict[tuple, tuple[str, list]] = {}
    for template in answer_templates_for(user).order_by("name", "id"):
        if template.scope == TemplateScope.PERSONAL:
            key, label = (0, ""), _("My templates")
        elif template.scope == TemplateScope.EVERYONE:
            key, label = (3, ""), _("Everyone's templates")
        else:
            own = template.department_id == ticket.department_id
            key, label = (1 if own else 2, template.department.name), template.department.name
        groups.setdefault(key, (label, []))[1].append(template)
    return [groups[key] for key in sorted(groups)]


class TicketReplyMixin:
    """Adds to the ticket's page (render_change_form) the answer form's context, and the
    addresses it posts to: the reply itself, a template's text, the presence poll."""

    reply_template = "admin/support/ticket/_answer.html"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/reply/", view(self.reply_view), name="support_ticket_reply"),
            path("<int:pk>/reply/template/", view(self.answer_template_view),
                 name="support_ticket_answer_template"),
            path("<int:pk>/presence/", view(self.presence_view),
                 name="support_ticket_presence"),
            *super().get_urls(),
        ]

    # --- the page --------------------------------------------------------------------

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None and request.user.has_perm(REPLY_PERMISSION):
            context.update(self._answer_context(request, obj, form=context.get("reply_form"),
                                                held_back=context.get("held_back")))
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def _answer_context(self, request, ticket: Ticket, *, form=None, held_back=None) -> dict:
        if form is None:
            initial = {"seen_up_to": newest_message_id(ticket)}
            chosen = parse_id(request.GET.get(TEMPLATE_PARAM))
            template = (answer_templates_for(request.user).filter(pk=chosen).first()
                        if chosen is not None else None)
            if template is not None:  # the picker without JavaScript: ?answer_template=
                initial["body"] = answer_for_ticket(template, ticket=ticket, staff=request.user)
            form = StaffReplyForm(initial=initial)
        return {
            "reply_form": form,
            # Who a reply reaches: the client and the users who follow the ticket.
            "mailed_to": [ticket.client.email, *(
                user.email for user in mailed_followers(ticket))],
            "template_groups": _template_groups(request.user, ticket),
            "presence": others_present(ticket=ticket, user=request.user, now=timezone.now()),
            "presence_poll_seconds": POLL_SECONDS,
            "held_back": held_back or [],
        }

    def _ticket_page(self, request, ticket: Ticket, *, status: int, **extra):
        """The ticket's page again after a POST here (the answer kept in its form)."""
        page_request = copy.copy(request)
        page_request.method = "GET"  # the admin would otherwise read the POST as its own form
        response = self.change_view(page_request, str(ticket.pk), extra_context=extra)
        response.status_code = status
        return response

    def _reply_ticket(self, request, pk: int) -> Ticket:
        if not request.user.has_perm(REPLY_PERMISSION):
            raise PermissionDenied
        return get_object_or_404(staff_tickets(request.user), pk=pk)

    # --- the addresses -----------------------------------------------------------------

    def reply_view(self, request, pk: int):
        ticket = self._reply_ticket(request, pk)
        if request.method != "POST":
            return redirect("admin:support_ticket_change", pk)
        form = StaffReplyForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._ticket_page(request, ticket, status=422, reply_form=form)
        data = form.cleaned_data
        try:
            answer = staff_answer(ticket=ticket, user=request.user, kind=data["kind"],
                                  body=data["body"], seen_up_to=data["seen_up_to"],
                                  token=data["token"], attachments=data["attachments"],
                                  now=timezone.now())
        except ValidationError as error:
            form.add_error(None, error)
            return self._ticket_page(request, ticket, status=422, reply_form=form)
        if answer.held_back:
            # Asked again with what arrived: the text stays, "seen" moves to the newest.
            fresh = request.POST.copy()
            fresh["seen_up_to"] = str(newest_message_id(ticket))
            return self._ticket_page(request, ticket, status=409,
                                     reply_form=StaffReplyForm(fresh),
                                     held_back=answer.held_back,
                                     files_dropped=bool(request.FILES))
        if answer.duplicate:
            messages.info(request, _("This answer was saved already; it was not sent twice."))
        else:
            note = answer.message.kind == MessageKind.INTERNAL_NOTE
            self.log_change(request, ticket, _("Note added") if note else _("Reply sent"))
            messages.success(request, _("Note added.") if note else _("Reply sent."))
        return redirect("admin:support_ticket_change", pk)

    def answer_template_view(self, request, pk: int):
        """The answer text with a template's text added, for THIS ticket (htmx swaps the
        textarea); without htmx, the ticket's page with the template filled in."""
        ticket = self._reply_ticket(request, pk)
        data = request.POST if request.method == "POST" else request.GET
        chosen = parse_id(data.get(TEMPLATE_PARAM))
        if not (request.method == "POST" and request.htmx):
            url = reverse("admin:support_ticket_change", args=[pk])
            if chosen is not None:
                url += f"?{TEMPLATE_PARAM}={chosen}"
            return redirect(url + "#answer")
        if chosen is None:
            return HttpResponse(status=204)  # "choose one" again: the text stays as it is
        template = get_object_or_404(answer_templates_for(request.user), pk=chosen)
        text = answer_for_ticket(template, ticket=ticket, staff=request.user)
        written = data.get("body", "")[:BODY_MAX].rstrip()
        body = f"{written}\n\n{text}" if written else text
        return render(request, "admin/support/ticket/_reply_body.html",
                      {"field": StaffReplyForm(initial={"body": body})["body"]})

    def presence_view(self, request, pk: int):
        """The poll of an open ticket page: POST says "I am here" (and whether writing);
        both answer with who else is."""
        ticket = self._reply_ticket(request, pk)
        now = timezone.now()
        if request.method == "POST":
            presence_record(ticket=ticket, user=request.user,
                            replying=request.POST.get("replying") == "1", now=now)
        return render(request, "admin/support/ticket/_presence.html",
                      {"presence": others_present(ticket=ticket, user=request.user, now=now)})

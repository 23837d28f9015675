"""Client area: the Support center (open and archived tickets, a ticket's thread)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import client_area
from accounts.models import Access
from accounts.rights import Area
from support import followers, tickets
from support.announcements import blocking_announcement
from support.downloads import attachment_response
from support.forms import RatingForm, ReplyForm, TicketForm
from support.selectors import (
    client_attachment_get,
    client_messages,
    ticket_get,
    ticket_list,
)

PAGE_SIZE = 25


def _list(request, *, archived: bool):
    page = Paginator(ticket_list(client=request.client_context.client, archived=archived),
                     PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "support/list.html", {
        "page": page, "tickets": page.object_list, "archived": archived,
        "can_manage": request.client_context.can(Area.SUPPORT, Access.MANAGE)})


@client_area(Area.SUPPORT)
def ticket_index(request):
    return _list(request, archived=False)


@client_area(Area.SUPPORT)
def ticket_archive(request):
    return _list(request, archived=True)


@client_area(Area.SUPPORT, Access.MANAGE)
def ticket_create(request):
    client = request.client_context.client
    now = timezone.now()
    blocked = None
    if request.method == "POST":
        form = TicketForm(request.POST, request.FILES, client=client)
        if form.is_valid():
            data = form.cleaned_data
            blocked = blocking_announcement(client, data["service"], now)
            if blocked is not None:
                form.add_error("service", _("New tickets about this service are paused: "
                                            "%(reason)s")
                               % {"reason": blocked.block_reason or blocked.title})
        if form.is_valid():
            try:
                ticket = tickets.ticket_open(
                    client=client, user=request.user, department=data["department"],
                    category=data["category"], service=data["service"],
                    priority=data["priority"], subject=data["subject"], body=data["body"],
                    attachments=data["attachments"], now=now)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Ticket %(number)s is open; we will answer soon.")
                                 % {"number": ticket.display_number})
                return redirect("support:ticket", pk=ticket.pk)
        blocked_service = form.cleaned_data.get("service") if blocked else None
    else:
        form = TicketForm(client=client, initial={"service": request.GET.get("service")})
        # "Ask a question about this service": say at once when it would be refused.
        blocked_service = form.fields["service"].queryset.filter(
            pk=form.initial.get("service") or 0).first()
        blocked = blocking_announcement(client, blocked_service, now)
    return render(request, "support/create.html", {
        "form": form, "blocked": blocked, "blocked_service": blocked_service})


def _detail_context(request, ticket, **forms) -> dict:
    can_manage = request.client_context.can(Area.SUPPORT, Access.MANAGE)
    context = {
        "ticket": ticket, "thread": client_messages(ticket), "can_manage": can_manage,
        "reply_form": ReplyForm() if can_manage else None,
        "rating_form": RatingForm(initial={"rating": ticket.rating,
                                           "comment": ticket.rating_comment})
        if can_manage and ticket.is_closed else None,
        "can_reopen": can_manage and ticket.is_closed
        and tickets.reopen_allowed(ticket, now=timezone.now()),
        # Only the client's own users follow (a member of staff in the client area does not).
        "can_follow": request.client_context.membership is not None,
        "following": followers.is_following(ticket, request.user),
    }
    context.update({name: form for name, form in forms.items() if form is not None})
    return context


@client_area(Area.SUPPORT)
def ticket_detail(request, pk: int):
    ticket = ticket_get(client=request.client_context.client, pk=pk)
    return render(request, "support/detail.html", _detail_context(request, ticket))


def _reply_blocked(ticket, *, now):
    """The announcement that refuses a reply which would open a new ticket (the closed
    ticket's re-open window has passed) about a blocked service."""
    opens_new = tickets.reply_status(status=ticket.status, by_staff=False,
                                     reopen_allowed=tickets.reopen_allowed(ticket, now=now)) \
        is None
    return blocking_announcement(ticket.client, ticket.service, now) if opens_new else None


@require_POST
@client_area(Area.SUPPORT, Access.MANAGE)
def ticket_reply(request, pk: int):
    ticket = ticket_get(client=request.client_context.client, pk=pk)
    form = ReplyForm(request.POST, request.FILES)
    now = timezone.now()
    blocked = _reply_blocked(ticket, now=now)
    if blocked is not None:
        form.add_error(None, _("This ticket was closed too long ago, so your reply would open "
                               "a new one, and new tickets about %(service)s are paused: "
                               "%(reason)s")
                       % {"service": ticket.service.name,
                          "reason": blocked.block_reason or blocked.title})
    if form.is_valid():
        try:
            landed = tickets.ticket_reply_client(
                ticket=ticket, user=request.user, body=form.cleaned_data["body"],
                attachments=form.cleaned_data["attachments"], now=now)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if landed.pk != ticket.pk:
                messages.info(request, _("That ticket was closed too long ago; your reply "
                                         "opened ticket %(number)s.")
                              % {"number": landed.display_number})
            else:
                messages.success(request, _("Your reply is sent."))
            return redirect("support:ticket", pk=landed.pk)
    return render(request, "support/detail.html",
                  _detail_context(request, ticket, reply_form=form), status=422)


@require_POST
@client_area(Area.SUPPORT, Access.MANAGE)
def ticket_close(request, pk: int):
    ticket = ticket_get(client=request.client_context.client, pk=pk)
    tickets.ticket_close(ticket=ticket, now=timezone.now())
    messages.success(request, _("The ticket is closed."))
    return redirect("support:ticket", pk=ticket.pk)


@require_POST
@client_area(Area.SUPPORT, Access.MANAGE)
def ticket_reopen(request, pk: int):
    ticket = ticket_get(client=request.client_context.client, pk=pk)
    try:
        tickets.ticket_reopen(ticket=ticket, now=timezone.now())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The ticket is open again."))
    return redirect("support:ticket", pk=ticket.pk)


@require_POST
@client_area(Area.SUPPORT, Access.MANAGE)
def ticket_rate(request, pk: int):
    ticket = ticket_get(client=request.client_context.client, pk=pk)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            tickets.ticket_rate(ticket=ticket, rating=form.cleaned_data["rating"],
                                comment=form.cleaned_data["comment"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Thank you for your rating."))
            return redirect("support:ticket", pk=ticket.pk)
    return render(request, "support/detail.html",
                  _detail_context(request, ticket, rating_form=form), status=422)


@client_area(Area.SUPPORT)
def attachment_download(request, pk: int):
    return attachment_response(client_attachment_get(client=request.client_context.client,
                                                     pk=pk))


@require_POST
@client_area(Area.SUPPORT)
def ticket_follow(request, pk: int):
    """Follow (or, with ``stop``, stop following) a ticket: its staff replies by e-mail."""
    ticket = ticket_get(client=request.client_context.client, pk=pk)
    if request.POST.get("stop"):
        followers.ticket_unfollow(ticket=ticket, user=request.user)
        messages.success(request, _("You no longer get this ticket's replies by e-mail."))
        return redirect("support:ticket", pk=ticket.pk)
    try:
        followers.ticket_follow(ticket=ticket, user=request.user, now=timezone.now())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("You will get this ticket's replies by e-mail."))
    return redirect("support:ticket", pk=ticket.pk)

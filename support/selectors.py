"""Reads of the support center; the client area's are scoped to one client."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Client
from support.models import Attachment, Message, MessageKind, Ticket, TicketStatus


def ticket_list(*, client: Client, archived: bool) -> QuerySet[Ticket]:
    tickets = Ticket.objects.filter(client=client).select_related("department", "service")
    if archived:
        return tickets.filter(status=TicketStatus.CLOSED).order_by("-closed_at", "-id")
    return tickets.exclude(status=TicketStatus.CLOSED)


def ticket_get(*, client: Client, pk: int) -> Ticket:
    """The client's ticket, or 404 (another client's id reads as missing)."""
    return get_object_or_404(
        Ticket.objects.select_related("department", "category", "service"), client=client,
        pk=pk)


def client_messages(ticket: Ticket) -> QuerySet[Message]:
    """The thread as the client sees it: internal notes never."""
    return (ticket.messages.exclude(kind=MessageKind.INTERNAL_NOTE)
            .select_related("author").prefetch_related("attachments"))


def client_attachment_get(*, client: Client, pk: int) -> Attachment:
    return get_object_or_404(
        Attachment.objects.select_related("message__ticket"), pk=pk,
        message__ticket__client=client,
        message__kind__in=[MessageKind.CLIENT, MessageKind.STAFF])

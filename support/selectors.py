"""Reads of the support center; the client area's are scoped to one client."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Client, User
from support.models import (
    Attachment,
    Message,
    MessageKind,
    SupportDepartment,
    Ticket,
    TicketStatus,
)


def staff_support_departments(user: User) -> QuerySet[SupportDepartment]:
    """The support departments whose queues a member of staff works: those linked to one of
    the user's staff departments; all of them for administrators."""
    if user.is_superuser:
        return SupportDepartment.objects.all()
    return SupportDepartment.objects.filter(
        staff_departments__user=user).distinct()


def staff_tickets(user: User) -> QuerySet[Ticket]:
    """Every ticket a member of staff may see: those of the departments they work."""
    if user.is_superuser:
        return Ticket.objects.all()
    return Ticket.objects.filter(department__in=staff_support_departments(user))


def department_staff(department: SupportDepartment) -> QuerySet[User]:
    """Active staff who work a support department's queue (administrators are not counted:
    they see every queue but are not its team)."""
    return User.objects.filter(
        is_staff=True, is_active=True,
        groups__in=department.staff_departments.all()).distinct()


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

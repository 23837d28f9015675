"""Reads of the staff queue: its counters, the number a search names, who may be assigned,
and what sits beside a ticket (the client's other tickets and services).

Every read starts from ``staff_tickets(user)``: a support employee never counts, finds or
lists a ticket of a department they do not work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Count, QuerySet

from accounts.models import Department, User
from services.models import Service
from support.models import SupportDepartment, Ticket, TicketStatus
from support.selectors import staff_support_departments, staff_tickets

# "T-123456", "#T-123456", "t123456" or the bare six digits.
NUMBER_RE = re.compile(r"^\s*#?(?:T-?)?(\d{6})\s*$", re.IGNORECASE)
OPEN_STATUSES = [status for status in TicketStatus.values if status != TicketStatus.CLOSED]
SIDE_TICKETS = 10
SIDE_SERVICES = 20


def ticket_number_in(term: str) -> int | None:
    """The ticket number a search term names, if it names one."""
    found = NUMBER_RE.match(term or "")
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Counter:
    key: str | int
    label: str
    count: int


def queue_counters(user: User) -> tuple[list[Counter], list[Counter]]:
    """Open tickets in the user's queues per status and per department (zeros included),
    both from one aggregate query over the open tickets' partial index (department,
    status): its rows are at most departments x open statuses."""
    rows = (staff_tickets(user).exclude(status=TicketStatus.CLOSED)
            .values_list("department_id", "status").annotate(n=Count("*")).order_by())
    by_status: dict[str, int] = {}
    by_department: dict[int, int] = {}
    for department_id, status, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        by_department[department_id] = by_department.get(department_id, 0) + count
    statuses = [Counter(status, TicketStatus(status).label, by_status.get(status, 0))
                for status in OPEN_STATUSES]
    departments = [Counter(department.pk, department.name, by_department.get(department.pk, 0))
                   for department in staff_support_departments(user).only("pk", "name")
                   .order_by("position", "name")]
    return statuses, departments


def queue_staff(user: User) -> QuerySet[User]:
    """Staff who work any of the user's departments: the assignee filter's choices."""
    return User.objects.filter(
        is_staff=True, is_active=True,
        groups__in=Department.objects.filter(
            pk__in=SupportDepartment.staff_departments.through.objects.filter(
                supportdepartment__in=staff_support_departments(user))
            .values("department_id"))).distinct().order_by("email")


def assignable_staff(department_ids: set[int]) -> QuerySet[User]:
    """Active staff who work every one of these support departments: whom a set of
    tickets may be given to."""
    users = User.objects.filter(is_staff=True, is_active=True)
    for department_id in department_ids:
        users = users.filter(pk__in=User.objects.filter(
            groups__in=SupportDepartment.staff_departments.through.objects.filter(
                supportdepartment_id=department_id).values("department_id"))
            .values("pk"))
    return users.order_by("email")


def client_other_tickets(*, user: User, ticket: Ticket) -> list[Ticket]:
    """The client's latest other tickets the user may see (never a foreign queue's)."""
    return list(staff_tickets(user).filter(client_id=ticket.client_id).exclude(pk=ticket.pk)
                .select_related("department").order_by("-updated_at", "-id")[:SIDE_TICKETS])


def client_services(ticket: Ticket) -> tuple[list[Service], int]:
    """The client's services (the newest first, at most SIDE_SERVICES) and how many it has
    in all. Status, plan and expiry only: support sees no prices."""
    services = Service.objects.filter(client_id=ticket.client_id)
    shown = list(services.select_related("plan").only(
        "pk", "name", "status", "operation", "suspend_reason", "expires_on", "plan__name",
        "plan__product_type").order_by("-created_at", "-id")[:SIDE_SERVICES])
    total = len(shown) if len(shown) < SIDE_SERVICES else services.count()
    return shown, total

"""The support quality report: per staff member and per department over a period, tickets
handled, first response and resolution times (medians, business time), ratings and SLA
breaches. A fixed handful of grouped queries whatever the number of tickets.

What each figure counts, by the moment that puts a ticket in the period:
- handled: tickets the staff member (or the department's staff) replied to in it;
- first response: tickets first answered in it, credited to who answered;
- resolution, ratings: tickets closed in it, credited to the assignee;
- breaches: of those, the first responses given after their target and the tickets
  closed after their resolution target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Aggregate, Avg, Count, DurationField, F, Q, QuerySet

from accounts.models import User
from support.models import Message, MessageKind, SupportDepartment, Ticket, TicketStatus


class Median(Aggregate):
    """PostgreSQL's exact median (of intervals here)."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


@dataclass
class ReportRow:
    key: int | None
    label: str
    handled: int = 0
    first_responses: int = 0
    first_response_median: timedelta | None = None
    first_response_breaches: int = 0
    resolved: int = 0
    resolution_median: timedelta | None = None
    resolution_breaches: int = 0
    rating_average: float | None = None
    rating_count: int = 0
    ratings: list[int] = field(default_factory=lambda: [0] * 5)  # count of 1, 2, ..., 5

    @property
    def breaches(self) -> int:
        return self.first_response_breaches + self.resolution_breaches

    @property
    def first_response_hours(self) -> str:
        return hours(self.first_response_median)

    @property
    def resolution_hours(self) -> str:
        return hours(self.resolution_median)


def hours(duration: timedelta | None) -> str:
    """Business time as hours and minutes (``26:05``); empty for no figure."""
    if duration is None:
        return ""
    minutes = round(duration.total_seconds() / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


@dataclass
class Report:
    start: datetime
    end: datetime
    staff: list[ReportRow]
    departments: list[ReportRow]


RATINGS = {f"rated_{score}": Count("pk", filter=Q(rating=score)) for score in range(1, 6)}


def support_report(*, departments: QuerySet[SupportDepartment], start: datetime,
                   end: datetime) -> Report:
    """The report over ``[start, end)`` for the tickets of ``departments``."""
    tickets = Ticket.objects.filter(department__in=departments)
    replies = Message.objects.filter(ticket__department__in=departments, kind=MessageKind.STAFF,
                                     author__isnull=False, created_at__gte=start,
                                     created_at__lt=end)
    first = tickets.filter(first_responded_at__gte=start, first_responded_at__lt=end)
    closed = tickets.filter(status=TicketStatus.CLOSED, closed_at__gte=start, closed_at__lt=end)
    closing = dict(resolved=Count("pk"), resolution_median=Median("sla_resolution_time"),
                   resolution_breaches=Count("pk", filter=Q(
                       closed_at__gt=F("sla_resolution_due_at"))),
                   rating_average=Avg("rating"), rating_count=Count("rating"), **RATINGS)

    figures = {}
    for scope, ticket_key, first_key, message_key in [
            ("staff", "assignee", "first_responded_by", "author"),
            ("departments", "department", "department", "ticket__department")]:
        rows: dict = {}
        for item in replies.values(message_key).annotate(handled=Count("ticket", distinct=True)):
            rows.setdefault(item[message_key], {})["handled"] = item["handled"]
        for item in first.values(first_key).annotate(
                first_responses=Count("pk"),
                first_response_median=Median("sla_first_response_time"),
                first_response_breaches=Count("pk", filter=Q(
                    first_responded_at__gt=F("sla_first_response_due_at")))):
            rows.setdefault(item.pop(first_key), {}).update(item)
        for item in closed.values(ticket_key).annotate(**closing):
            rows.setdefault(item.pop(ticket_key), {}).update(item)
        figures[scope] = rows

    names = {user.pk: user.get_full_name() or user.email
             for user in User.objects.filter(pk__in=[k for k in figures["staff"] if k])}
    departments_named = {d.pk: d.name for d in SupportDepartment.objects.filter(
        pk__in=[k for k in figures["departments"] if k])}
    return Report(
        start=start, end=end,
        staff=_rows(figures["staff"], names, unassigned="—"),
        departments=_rows(figures["departments"], departments_named, unassigned="—"))


def _rows(figures: dict, names: dict, *, unassigned: str) -> list[ReportRow]:
    rows = []
    for key, values in figures.items():
        ratings = [values.pop(f"rated_{score}", 0) for score in range(1, 6)]
        average = values.pop("rating_average", None)
        rows.append(ReportRow(key=key, label=names.get(key, unassigned), ratings=ratings,
                              rating_average=float(average) if average is not None else None,
                              **values))
    return sorted(rows, key=lambda row: (row.key is None, row.label.lower()))

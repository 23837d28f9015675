"""Staff panel for the SLA: business-hours calendars, SLA policies, escalations, the
queue's SLA filter and column, and the support quality report."""

from __future__ import annotations

import csv
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin_base import StaffModelAdmin
from support.models import (
    BusinessCalendar,
    BusinessHours,
    Holiday,
    SlaEscalation,
    SlaPolicy,
    SupportDepartment,
)
from support.report import Report, hours, support_report
from support.selectors import staff_support_departments
from support.sla import SlaState, sla_state, sla_state_annotate

REPORT_PERMISSION = "support.view_support_report"
REPORT_MAX_DAYS = 366

_BADGE = {SlaState.OK: "#1e7e34", SlaState.AT_RISK: "#b35c00", SlaState.BREACHED: "#c62828",
          SlaState.PAUSED: "#5f6b7a", SlaState.NONE: "#9aa3ae"}


class SlaStateFilter(admin.SimpleListFilter):
    """The queue by SLA state, computed in SQL by the same rule as the column."""

    title = gettext_lazy("SLA")
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return SlaState.choices

    def queryset(self, request, queryset):
        if self.value() not in SlaState.values:
            return queryset
        return sla_state_annotate(queryset, now=timezone.now()).filter(
            sla_state_value=self.value())


@admin.display(description=gettext_lazy("SLA"))
def sla_column(ticket) -> str:
    """The ticket's SLA state as a badge; its title says the next target."""
    state = sla_state(ticket, now=timezone.now())
    due = ticket.sla_resolution_due_at if ticket.first_responded_at else \
        ticket.sla_first_response_due_at
    hint = _("Target %(due)s") % {"due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M")} \
        if due and state in (SlaState.OK, SlaState.AT_RISK) else ""
    return format_html(
        '<span class="sla-badge" title="{}" style="display:inline-block;padding:1px 7px;'
        'border-radius:9px;color:#fff;background:{};white-space:nowrap;font-size:11px">{}'
        "</span>", hint, _BADGE[state], state.label)


class _ScopedAdmin(StaffModelAdmin):
    """Rows of the departments the staff member works; the right is checked before the
    row is looked up, so a page out of reach reads as forbidden, never as missing."""

    department_path = "department"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(
            **{f"{self.department_path}__in": staff_support_departments(request.user)})

    def history_view(self, request, object_id, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)


class BusinessHoursInline(admin.TabularInline):
    model = BusinessHours
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(StaffModelAdmin):
    list_display = ["name", "time_zone"]
    inlines = [BusinessHoursInline, HolidayInline]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(_ScopedAdmin):
    list_display = ["department", "priority", "client_group", "first_response_minutes",
                    "resolution_minutes", "at_risk_percent", "breach_raise_priority",
                    "breach_reassign"]
    list_filter = ["department", "priority", "client_group"]
    list_select_related = ["department", "client_group"]
    raw_id_fields = ["breach_assignee"]
    change_list_template = "admin/support/slapolicy/change_list.html"

    def get_urls(self):
        return [
            path("report/", self.admin_site.admin_view(self.report_view),
                 name="support_slapolicy_report"),
            *super().get_urls(),
        ]

    def report_view(self, request):
        if not request.user.has_perm(REPORT_PERMISSION):
            raise PermissionDenied
        departments = staff_support_departments(request.user)
        form = ReportForm(request.GET or None, departments=departments)
        report = None
        if form.is_valid():
            chosen = form.cleaned_data["department"]
            report = support_report(
                departments=departments.filter(pk=chosen.pk) if chosen else departments,
                start=form.start, end=form.end)
            if request.GET.get("export") == "csv":
                return report_csv(report)
        return TemplateResponse(request, "admin/support/report.html", {
            **self.admin_site.each_context(request), "title": _("Support quality report"),
            "opts": self.model._meta,
            "form": form, "report": report,
            "tables": [(_("Staff"), report.staff), (_("Departments"), report.departments)]
            if report else [],
            "csv_query": urlencode({
                "start": form.cleaned_data["start"], "end": form.cleaned_data["end"],
                "department": getattr(form.cleaned_data["department"], "pk", ""),
                "export": "csv"}) if report else "",
        })


class ReportForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"),
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("To (inclusive)"),
                          widget=forms.DateInput(attrs={"type": "date"}))
    department = forms.ModelChoiceField(SupportDepartment.objects.none(), required=False,
                                        label=gettext_lazy("Department"),
                                        empty_label=gettext_lazy("All my departments"))

    def __init__(self, data=None, *, departments, **kwargs):
        today = timezone.localdate()
        if data is None:
            data = {"start": today - timedelta(days=29), "end": today}
        super().__init__(data, **kwargs)
        self.fields["department"].queryset = departments

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The period ends before it starts."))
            if (end - start).days >= REPORT_MAX_DAYS:
                raise forms.ValidationError(_("Choose a period of at most a year."))
            zone = timezone.get_current_timezone()
            self.start = datetime.combine(start, time(), tzinfo=zone)
            self.end = datetime.combine(end + timedelta(days=1), time(), tzinfo=zone)
        return data


def _cell(value) -> str:
    # A spreadsheet runs a cell that starts like a formula: names are data, never formulas.
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(report: Report) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="support-report-{report.start:%Y-%m-%d}-'
        f'{(report.end - timedelta(days=1)):%Y-%m-%d}.csv"')
    writer = csv.writer(response)
    writer.writerow(["scope", "name", "handled", "first_responses", "first_response_median_h",
                     "first_response_breaches", "resolved", "resolution_median_h",
                     "resolution_breaches", "rating_average", "rating_count", "rated_1",
                     "rated_2", "rated_3", "rated_4", "rated_5"])
    for scope, rows in (("staff", report.staff), ("department", report.departments)):
        for row in rows:
            writer.writerow([
                scope, _cell(row.label), row.handled, row.first_responses,
                hours(row.first_response_median), row.first_response_breaches, row.resolved,
                hours(row.resolution_median), row.resolution_breaches,
                f"{row.rating_average:.2f}" if row.rating_average is not None else "",
                row.rating_count, *row.ratings])
    return response


@admin.register(SlaEscalation)
class SlaEscalationAdmin(_ScopedAdmin):
    """What the beat escalated: read-only, the record of it."""

    list_display = ["happened_at", "ticket_link", "level", "due_at"]
    list_filter = ["level", "ticket__department"]
    list_select_related = ["ticket"]
    fields = ["ticket", "level", "happened_at", "due_at", "actions"]
    readonly_fields = fields
    department_path = "ticket__department"

    @admin.display(description=gettext_lazy("ticket"))
    def ticket_link(self, obj):
        return format_html('<a href="{}">{}</a>',
                           reverse("admin:support_ticket_change", args=[obj.ticket_id]),
                           obj.ticket.display_number)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The report in the Support section of the staff panel's index and sidebar.
admin.site.link_register(app_label="support", name=gettext_lazy("Quality report"),
                         url_name="support_slapolicy_report", permission=REPORT_PERMISSION)

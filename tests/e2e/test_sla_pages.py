"""The SLA in the staff panel, in a real browser: the queue's SLA column and filter, and
the quality report with its CSV export, at a desktop's and a phone's width (no sideways
scrolling). Screenshots go to var/screenshots/ to look at."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support import tickets
from support.models import Priority, SlaPolicy
from tests.factories.accounts import PASSWORD, ClientFactory, StaffFactory
from tests.factories.support import SupportDepartmentFactory
from tests.signin import browser_sign_in, totp_secret

pytestmark = pytest.mark.django_db(transaction=True)


def _world():
    department = SupportDepartmentFactory()
    for priority, first, resolution in [(Priority.NORMAL, 240, 1440), (Priority.HIGH, 60, 480)]:
        SlaPolicy.objects.create(department=department, priority=priority,
                                 first_response_minutes=first, resolution_minutes=resolution)
    employee = StaffFactory(email="ann@example.com", name="Ann Support")
    employee.groups.add(department_sync(name="Technical support",
                                        codenames=DEFAULT_DEPARTMENTS["Technical support"]))
    client = ClientFactory(name="Dana Hosting")
    now = timezone.now()

    def ticket(subject, opened_ago, steps=(), rating=None, **fields):
        made = tickets.ticket_open(client=client, user=None, department=department,
                                   subject=subject, body="?", now=now - opened_ago, **fields)
        for step, ago in steps:
            when = now - ago
            if step == "staff":
                tickets.ticket_reply_staff(ticket=made, user=employee, body="!", now=when)
            elif step == "client":
                tickets.ticket_reply_client(ticket=made, user=None, body="..", now=when)
            else:
                tickets.ticket_close(ticket=made, now=when)
        if rating:
            tickets.ticket_rate(ticket=made, rating=rating)
        return made

    ticket("Just arrived", timedelta(minutes=5))
    ticket("Nearly due", timedelta(hours=3, minutes=30))
    ticket("Overdue answer", timedelta(hours=6))
    ticket("Waiting for the client", timedelta(hours=2), [("staff", timedelta(hours=1))])
    ticket("Resolved quickly", timedelta(days=2), [("staff", timedelta(days=2) - timedelta(
        minutes=20)), ("close", timedelta(days=1))], rating=5)
    ticket("Resolved late", timedelta(days=4), [("staff", timedelta(days=3)),
                                                ("client", timedelta(days=3) - timedelta(
                                                    minutes=1)),
                                                ("close", timedelta(days=1))], rating=2,
           priority=Priority.HIGH)
    return employee


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= "
                         "document.documentElement.clientWidth + 1")


def test_the_sla_column_filter_and_the_report(page, shoot):
    employee = _world()
    browser_sign_in(page, employee.email, PASSWORD, secret=totp_secret(employee),
                    next_url="/staff/")
    page.goto("/staff/support/ticket/")
    badges = page.locator("#result_list .sla-badge").all_inner_texts()
    assert sorted(badges) == ["At risk", "Breached", "On track", "Paused"]
    shoot("staff-tickets-sla")
    page.click("#changelist-filter a:text('Breached')")
    page.wait_for_url("**sla=breached**")
    rows = page.locator("#result_list tbody tr")
    rows.first.wait_for()
    assert len(rows.all_inner_texts()) == 1
    assert "Overdue answer" in rows.first.inner_text()

    page.goto("/staff/")
    page.click("a:text('Quality report')")
    page.wait_for_url("**/slapolicy/report/**")
    assert page.locator("h2:text('Staff')").is_visible()
    staff_row = page.locator("tr", has_text="Ann Support").first.inner_text()
    assert "3.50 (2)" in staff_row  # the average of 5 and 2, of two ratings
    shoot("staff-support-report")
    with page.expect_download() as download:
        page.click("a:text('Export CSV')")
    assert download.value.suggested_filename.startswith("support-report-")

    page.set_viewport_size({"width": 390, "height": 860})
    page.reload()
    _no_sideways_scroll(page)
    shoot("staff-support-report-390")
    page.goto("/staff/support/ticket/")
    _no_sideways_scroll(page)
    shoot("staff-tickets-sla-390")

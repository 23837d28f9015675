"""The support quality report: figures worked out by hand for a few tickets, the staff
page's rights and scope, bad input, the CSV export and a bounded number of queries."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support import tickets
from support.models import Priority, SlaPolicy, SupportDepartment
from support.report import support_report
from tests.factories.accounts import ClientFactory, StaffFactory
from tests.factories.support import SupportDepartmentFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERIOD = {"start": "2026-03-01", "end": "2026-03-03"}
URL = "admin:support_slapolicy_report"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def mins(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


@pytest.fixture
def world():
    """Technical (answer in 60 min, resolve in 240, real time) with Ann and Bob; one
    ticket of another department nobody of them works."""
    technical = SupportDepartmentFactory()
    SlaPolicy.objects.create(department=technical, priority=Priority.NORMAL,
                             first_response_minutes=60, resolution_minutes=240)
    ann = StaffFactory(email="ann@example.com", name="Ann")
    bob = StaffFactory(email="bob@example.com", name="Bob")
    client = ClientFactory()

    def ticket(steps, rating=None):
        made = tickets.ticket_open(client=client, user=None, department=technical,
                                   subject="Q", body="?", now=T0)
        for who, minute in steps:
            if who == "close":
                tickets.ticket_close(ticket=made, now=at(minute))
            elif who == "client":
                tickets.ticket_reply_client(ticket=made, user=None, body="..", now=at(minute))
            else:
                tickets.ticket_reply_staff(ticket=made, user=who, body="!", now=at(minute))
        if rating:
            tickets.ticket_rate(ticket=made, rating=rating)
        return made

    # Ann: answered in 30, the client in 60, Ann again at 90, closed at 120:
    # running 0-30 and 60-90, so resolved in 60 of business time.
    ticket([(ann, 30), ("client", 60), (ann, 90), ("close", 120)], rating=5)
    # Bob: answered late (90 > 60), closed at 100: resolved in 90.
    ticket([(bob, 90), ("close", 100)], rating=3)
    # Ann: answered in 10, the client at 20, closed at 300: 290 running > 250 due.
    ticket([(ann, 10), ("client", 20), ("close", 300)], rating=4)
    # Open and unanswered: in nobody's figures.
    ticket([])
    # Closed outside the period.
    outside = tickets.ticket_open(client=client, user=None, department=technical,
                                  subject="Old", body="?", now=T0 - timedelta(days=30))
    tickets.ticket_reply_staff(ticket=outside, user=bob, body="!", now=T0 - timedelta(days=30))
    tickets.ticket_close(ticket=outside, now=T0 - timedelta(days=29))
    # Another department's ticket, answered by Bob.
    sales = SupportDepartmentFactory(slug="sales", name="Sales", staff_departments=["Sales"])
    elsewhere = tickets.ticket_open(client=client, user=None, department=sales, subject="S",
                                    body="?", now=T0)
    tickets.ticket_reply_staff(ticket=elsewhere, user=bob, body="!", now=at(5))
    return technical, ann, bob


def _row(rows, label):
    return next(row for row in rows if row.label == label)


def test_the_figures(world):
    technical, _ann, _bob = world
    report = support_report(departments=SupportDepartment.objects.filter(pk=technical.pk),
                            start=T0 - timedelta(days=1), end=T0 + timedelta(days=1))
    a, b = _row(report.staff, "Ann"), _row(report.staff, "Bob")
    assert (a.handled, a.first_responses, a.first_response_median, a.first_response_breaches,
            a.resolved, a.resolution_median, a.resolution_breaches) == (
        2, 2, mins(20), 0, 2, mins(175), 1)
    assert (a.rating_average, a.rating_count, a.ratings) == (4.5, 2, [0, 0, 0, 1, 1])
    assert (b.handled, b.first_responses, b.first_response_median, b.first_response_breaches,
            b.resolved, b.resolution_median, b.resolution_breaches, b.breaches) == (
        1, 1, mins(90), 1, 1, mins(90), 0, 1)
    assert (b.rating_average, b.ratings) == (3.0, [0, 0, 1, 0, 0])
    [department] = report.departments
    assert (department.label, department.handled, department.first_responses,
            department.first_response_median, department.first_response_breaches,
            department.resolved, department.resolution_median,
            department.resolution_breaches) == (technical.name, 3, 3, mins(30), 1, 3, mins(90), 1)
    assert (department.rating_average, department.rating_count, department.ratings) == (
        4.0, 3, [0, 0, 1, 1, 1])


def _employee(client, department="Technical support", **fields):
    employee = StaffFactory(**fields)
    employee.groups.add(department_sync(name=department,
                                        codenames=DEFAULT_DEPARTMENTS[department]))
    client.force_login(employee)
    return employee


def test_support_sees_the_report_of_its_departments_only(client, world):
    _employee(client)
    page = client.get(reverse(URL), PERIOD)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Ann" in text
    assert "Technical support" in text
    assert "Sales" not in text  # Bob's Sales reply is not in Technical support's report


def test_the_report_needs_its_permission(client, world):
    _employee(client, department="Accounting")
    assert client.get(reverse(URL), PERIOD).status_code == 403


def test_the_index_links_the_report(client, world):
    _employee(client)
    assert reverse(URL) in client.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize("query", [
    {"start": "2026-03-05", "end": "2026-03-01"},           # ends before it starts
    {"start": "2020-01-01", "end": "2026-03-01"},           # longer than a year
    {"start": "yesterday", "end": "2026-13-45"},            # not dates
    {**PERIOD, "department": "999999"},                      # not one of the choices
    {**PERIOD, "department": "<script>"},
])
def test_bad_input_gets_a_message(client, world, query):
    _employee(client)
    page = client.get(reverse(URL), query)
    assert page.status_code == 200
    assert "errornote" in page.content.decode()


def test_a_nul_byte_is_refused_as_bad_input(client, world):
    _employee(client)
    assert client.get(reverse(URL), {"start": "\x00", "end": "x"}).status_code == 400


def test_a_department_not_worked_is_not_a_choice(client, world):
    _employee(client)
    sales = SupportDepartment.objects.get(slug="sales")
    page = client.get(reverse(URL), {**PERIOD, "department": sales.pk})
    assert "errornote" in page.content.decode()


def test_csv_export(client, world):
    _employee(client)
    response = client.get(reverse(URL), {**PERIOD, "export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("scope,name,handled")
    assert "staff,Ann,2,2,0:20,0,2,2:55,1,4.50,2,0,0,0,1,1" in lines
    assert "staff,Bob,1,1,1:30,1,1,1:30,0,3.00,1,0,0,1,0,0" in lines


def test_csv_cells_never_start_a_formula(client, world):
    _technical, ann, _bob = world
    ann.name = "=HYPERLINK(\"http://evil\")"
    ann.save()
    _employee(client)
    text = client.get(reverse(URL), {**PERIOD, "export": "csv"}).content.decode()
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text


def test_the_number_of_queries_does_not_grow_with_tickets(client, world,
                                                          django_assert_max_num_queries):
    technical, _ann, _bob = world
    _employee(client)
    client.get(reverse(URL), PERIOD)  # warm the session and permission caches
    for minute in range(30):
        made = tickets.ticket_open(client=ClientFactory(), user=None, department=technical,
                                   subject="More", body="?", now=at(minute))
        tickets.ticket_reply_staff(ticket=made, user=StaffFactory(), body="!",
                                   now=at(minute + 1))
        tickets.ticket_close(ticket=made, now=at(minute + 2))
    with django_assert_max_num_queries(20):
        assert client.get(reverse(URL), PERIOD).status_code == 200

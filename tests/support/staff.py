"""Staff of the support queue in tests: two queues, each worked by its own team."""

from __future__ import annotations

from accounts.models import Department
from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from support import tickets
from tests.factories.accounts import StaffFactory
from tests.factories.support import WHEN, SupportDepartmentFactory


def employee(*, staff_department: str = "Technical support", permissions=None):
    """A member of staff in a staff department with that department's default rights
    (or the permissions given)."""
    user = StaffFactory()
    codenames = DEFAULT_DEPARTMENTS.get(staff_department, []) if permissions is None \
        else permissions
    user.groups.add(department_sync(name=staff_department, codenames=codenames))
    return user


def queues():
    """(technical, billing): Technical support works the first, "Billing team" (staff
    with Technical support's rights) the second."""
    technical = SupportDepartmentFactory(slug="technical", name="Technical")
    billing = SupportDepartmentFactory(slug="billing", name="Billing",
                                       staff_departments=["Billing team"])
    department_sync(name="Billing team", codenames=DEFAULT_DEPARTMENTS["Technical support"])
    return technical, billing


def billing_employee():
    user = StaffFactory()
    user.groups.add(Department.objects.get(name="Billing team"))
    return user


def ticket(client, department, subject="Help", *, now=WHEN, **fields):
    return tickets.ticket_open(client=client, user=None, department=department,
                               subject=subject, body=f"{subject}, please.", now=now, **fields)

import pytest

from accounts.staff_roles import DEFAULT_DEPARTMENTS, department_sync
from tests.factories.accounts import AdminFactory, StaffFactory


@pytest.fixture
def staff_in(client):
    """Sign Django's test client in as a new employee of a default department (or of
    none, or an administrator); returns the employee."""
    def sign_in(department: str | None):
        if department == "admin":
            employee = AdminFactory()
        else:
            employee = StaffFactory()
            if department is not None:
                employee.groups.add(department_sync(
                    name=department, codenames=DEFAULT_DEPARTMENTS[department]))
        client.force_login(employee)
        return employee
    return sign_in

from io import StringIO

import pytest
from django.core.management import call_command

from services.models import Operation, ServiceOperation, ServiceStatus
from services.operations import service_request
from tests.factories.services import ServiceFactory

pytestmark = pytest.mark.django_db


def test_services_list_by_status():
    ServiceFactory(name="alpha.example", status=ServiceStatus.ACTIVE)
    ServiceFactory(name="beta.example", status=ServiceStatus.ORDERED)
    out = StringIO()

    call_command("services_list", "--status", "active", stdout=out)

    assert "alpha.example" in out.getvalue()
    assert "beta.example" not in out.getvalue()
    assert "1 of 1 service(s)" in out.getvalue()


def test_run_operations_runs_what_is_pending_here():
    service = ServiceFactory(status=ServiceStatus.ACTIVE)
    operation = service_request(service=service, operation=Operation.REBOOT,
                                target=ServiceStatus.ACTIVE, actor=None)
    out = StringIO()

    call_command("run_operations", stdout=out)

    operation.refresh_from_db()
    assert operation.status == ServiceOperation.Status.DONE
    assert f"operation {operation.pk}: done" in out.getvalue()

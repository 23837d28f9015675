"""Operations through a real Celery worker process (the embedded broker, or Redis in the
integration run): In progress is observable, then the service is Active."""

import time

import pytest

from services import actions
from services.models import ServiceHistory, ServiceOperation, ServiceStatus
from services.tasks import run_operation
from tests.celery_worker import running_worker
from tests.factories.services import PlanFactory, ServiceFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait_for(predicate, timeout=45):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_worker_activates_a_service_after_the_simulated_delay():
    service = ServiceFactory(status=ServiceStatus.ORDERED,
                             plan=PlanFactory(module_settings={"delay": 1.5}))

    with running_worker() as worker:
        actions.service_activate(service=service, actor=None)
        service.refresh_from_db()
        assert service.status == ServiceStatus.IN_PROGRESS
        activated = _wait_for(lambda: ServiceHistory.objects.filter(
            service=service, to_status=ServiceStatus.ACTIVE).exists())

    assert activated, worker.log_path.read_text()
    service.refresh_from_db()
    assert service.status == ServiceStatus.ACTIVE
    assert ServiceOperation.objects.get(service=service).status == ServiceOperation.Status.DONE


def test_the_same_task_delivered_three_times_runs_the_operation_once():
    service = ServiceFactory(status=ServiceStatus.ACTIVE,
                             plan=PlanFactory(module_settings={"delay": 0}))

    with running_worker(concurrency=2) as worker:
        operation = actions.service_reboot(service=service, actor=None)
        for _ in range(2):
            run_operation.delay(operation.pk)
        done = _wait_for(lambda: ServiceOperation.objects.get(pk=operation.pk).status == "done")
        time.sleep(1.5)  # let the duplicate deliveries arrive and back off

    assert done, worker.log_path.read_text()
    operation.refresh_from_db()
    assert operation.attempts == 1
    activations = ServiceHistory.objects.filter(service=service, to_status=ServiceStatus.ACTIVE)
    assert activations.count() == 1

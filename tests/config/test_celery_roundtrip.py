import os

import pytest
from django.db import connection

from config.tasks import healthcheck
from tests.celery_worker import running_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_task_goes_through_the_broker_to_a_worker_process_and_back():
    with running_worker() as worker:
        payload = healthcheck.delay().get(timeout=60)

    assert payload["database"] == connection.settings_dict["NAME"]
    assert payload["worker_pid"] not in (os.getpid(), worker.pid)

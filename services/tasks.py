"""Celery entry points of the services layer: ids in, a function called."""

from celery import shared_task

from services.operations import operation_run, operations_requeue_stale


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_operation(operation_id: int) -> str:
    return operation_run(operation_id)


@shared_task
def requeue_stale_operations() -> int:
    return operations_requeue_stale()

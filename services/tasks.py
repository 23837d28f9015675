"""Celery entry points of the services layer: ids in, a function called."""

from celery import shared_task

from services.operations import operation_run, operations_requeue_stale, operations_run


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_operation(operation_id: int) -> str:
    return operation_run(operation_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_operations(operation_ids: list[int]) -> dict[str, int]:
    """A batch of operations requested together (a day's suspensions, renewals, ...)."""
    return operations_run(operation_ids)


@shared_task
def requeue_stale_operations() -> int:
    return operations_requeue_stale()

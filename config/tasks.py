import os

from celery import shared_task
from django.db import connection


@shared_task
def healthcheck() -> dict:
    """Proves a worker is alive and reaches the database; used by tests and operators."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        (database,) = cursor.fetchone()
    return {"worker_pid": os.getpid(), "database": database}

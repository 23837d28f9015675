"""A real Celery worker process for tests: same broker, same test database."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent


def worker_environment() -> dict[str, str]:
    """The environment of a worker that sees the test database the test writes to."""
    environment = dict(os.environ)
    name = connection.settings_dict["NAME"]
    if settings.EMBEDDED_DATABASE:
        environment["EMBEDDED_DATABASE_NAME"] = name
    else:
        parts = urlsplit(os.environ["DATABASE_URL"])
        environment["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    environment["SECRET_KEY"] = settings.SECRET_KEY
    # The test process sends mail to Django's outbox; a worker has none, and production's
    # SMTP default has no server behind it here: its mail goes to its log instead.
    environment.setdefault("EMAIL_URL", "consolemail://")
    return environment


@contextmanager
def running_worker(*, concurrency: int = 1, pool: str = "prefork", extra_env=None,
                   ready_timeout: float = 60):
    """Start ``celery worker`` as a child process; yield it once it is ready; stop it."""
    log = Path(tempfile.mkstemp(prefix="celery-worker-", suffix=".log")[1])
    environment = worker_environment() | (extra_env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
         "--pool", pool, "--concurrency", str(concurrency), "--without-mingle",
         "--without-gossip", "--hostname", f"test-{uuid.uuid4().hex[:8]}@%h"],
        cwd=BASE_DIR, env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: killed as a whole, pytest spared
    )
    try:
        deadline = time.monotonic() + ready_timeout
        while " ready." not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Celery worker did not start:\n{log.read_text()}")
            time.sleep(0.1)
        process.log_path = log
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                kill_hard(process)


def kill_hard(process: subprocess.Popen) -> None:
    """SIGKILL the worker and its pool processes at once: nothing gets to clean up."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()

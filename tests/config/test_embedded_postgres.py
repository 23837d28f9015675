"""The embedded PostgreSQL: started on first use, shared, stopped by the last user."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.embedded.postgres import EMBEDDED_DATABASE_NAME

BASE_DIR = Path(__file__).resolve().parents[2]

ATTACH = f"""
import sys, psycopg
from config.embedded import postgres
address = postgres.attach()
with psycopg.connect(address.url("{EMBEDDED_DATABASE_NAME}")) as connection:
    print(connection.execute("select current_database()").fetchone()[0], flush=True)
if "--hold" in sys.argv:
    sys.stdin.readline()
"""


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("var")


def _python(var_dir, *args, **kwargs):
    env = {**os.environ, "VAR_DIR": str(var_dir)}
    return subprocess.Popen([sys.executable, "-c", ATTACH, *args], cwd=BASE_DIR, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def _running(var_dir) -> bool:
    return (var_dir / "postgres" / "postmaster.pid").exists()


def test_first_use_creates_the_cluster_and_the_last_user_stops_it(var_dir):
    process = _python(var_dir)
    out, err = process.communicate(timeout=120)

    assert process.returncode == 0, err
    assert out.strip() == EMBEDDED_DATABASE_NAME
    assert (var_dir / "postgres" / "PG_VERSION").exists()
    assert not _running(var_dir)


def test_a_second_process_shares_the_server_and_does_not_stop_it(var_dir):
    holder = _python(var_dir, "--hold")
    assert holder.stdout.readline().strip() == EMBEDDED_DATABASE_NAME

    visitor = _python(var_dir)
    _out, err = visitor.communicate(timeout=60)

    assert visitor.returncode == 0, err
    assert _running(var_dir)
    holder.communicate("\n", timeout=60)
    assert not _running(var_dir)


def test_data_survives_a_restart(var_dir):
    write = ATTACH.replace('print(connection.execute("select current_database()")'
                           '.fetchone()[0], flush=True)',
                           'connection.execute("create table if not exists kept (x int)");'
                           'connection.execute("insert into kept values (42)");'
                           'connection.commit(); print("ok", flush=True)')
    read = ATTACH.replace('select current_database()', 'select x from kept')
    env = {**os.environ, "VAR_DIR": str(var_dir)}
    for script, expected in ((write, "ok"), (read, "42")):
        result = subprocess.run([sys.executable, "-c", script], cwd=BASE_DIR, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.stdout.strip() == expected, result.stderr

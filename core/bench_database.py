"""A fresh database next to the configured one, for the benchmark commands: each run
migrates it from nothing and fills it, so a benchmark never touches real data."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.conf import settings
from django.db import connection


def bench_database(suffix: str) -> tuple[str, dict]:
    """Drop and create ``<configured name>_<suffix>``; returns its name and the environment
    in which a child process (``manage.py migrate``, the inner run) uses it."""
    name = f"{connection.settings_dict['NAME']}_{suffix}"
    env = dict(os.environ)
    if settings.EMBEDDED_DATABASE:
        env["EMBEDDED_DATABASE_NAME"] = name
    else:
        parts = urlsplit(os.environ["DATABASE_URL"])
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        env.setdefault("SECRET_KEY", settings.SECRET_KEY)
    connection.ensure_connection()
    params = connection.get_connection_params()
    params["dbname"] = "postgres"
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return name, env

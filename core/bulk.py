"""Writing many rows at once: the billing clock's batches write thousands of charges,
history rows and operations a chunk.

``copy_rows`` streams them with PostgreSQL's COPY, which skips the per-row SQL that
``bulk_create`` builds and quotes in Python; a row goes in as it is given (dicts are JSON).
COPY fires the tables' triggers like an INSERT, so the ledger's rules hold for it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection
from psycopg.types.json import Jsonb


def _value(value):
    return Jsonb(value) if isinstance(value, dict | list) else value


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY ``rows`` (tuples in the order of ``columns``) into ``table`` in the current
    transaction; returns how many were written."""
    written = 0
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_value(value) for value in row])
            written += 1
    return written

"""Cutting a step of the day into chunks: ranges of client ids with about the same amount
of work each, a client never split (its personal account is locked by one chunk only).
"""

from __future__ import annotations

from django.db import connection


def client_ranges(due_per_client: str, params: dict, *, size: int) -> list[tuple[int, int]]:
    """Client id ranges holding about ``size`` units of work each, from a query that
    gives each client with work its amount (``client_id, n``). Clients with no work are no
    chunk's concern; a client with more than ``size`` is a chunk of its own."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH per_client AS ({due_per_client}),
            running AS (
                -- Each client's first unit's place in the step's list (sum() of bigint is
                -- numeric: back to bigint for the integer division below).
                SELECT client_id, (sum(n) OVER (ORDER BY client_id))::bigint - n AS start
                FROM per_client)
            SELECT min(client_id), max(client_id) FROM running
            GROUP BY start / %(size)s ORDER BY 1""", {**params, "size": size})
        return [(lo, hi) for lo, hi in cursor.fetchall()]

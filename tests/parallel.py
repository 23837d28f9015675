"""Run the same request from many threads at once, as many tabs or double clicks would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def at_once(count: int, action: Callable[[int], T]) -> list[T | BaseException]:
    """Call ``action(i)`` for i in 0..count-1, each in its own thread with its own database
    connection, all released together by a barrier. Returns what each returned or raised."""
    barrier = threading.Barrier(count)
    results: list[T | BaseException | None] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = action(index)
        except BaseException as error:  # reported to the test, whatever it is
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    return results

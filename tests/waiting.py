"""Waiting in tests: for a condition, or for another database connection to be really blocked on a lock."""

import time

from django.db import connection


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")


BLOCKED_ON_ME = """
    SELECT count(DISTINCT pid) FROM pg_locks
    WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))
"""


def wait_until_blocked(waiters: int = 1, timeout: float = 10.0) -> None:
    """Called while this thread's connection holds a lock: return once ``waiters`` other backends
    are really waiting on its locks (``pg_locks``), instead of sleeping and hoping they got there."""

    def blocked() -> int:
        with connection.cursor() as cursor:
            cursor.execute(BLOCKED_ON_ME)
            count = cursor.fetchone()[0]
        return count if count >= waiters else 0

    wait_for(blocked, timeout=timeout, interval=0.01, what=f"{waiters} connection(s) blocked on this one's locks")

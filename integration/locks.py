"""Transaction-level advisory locks: what serialises writers that do not share a row to lock."""

from django.db import connection


def advisory_xact_lock(*key: int) -> None:
    """Hold PostgreSQL's advisory lock on ``key`` (one 64-bit or two 32-bit ints) until the transaction ends.
    Elsewhere (the demo's SQLite) a no-op: its immediate transactions already take turns."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_xact_lock({', '.join(['%s'] * len(key))})", list(key))


def advisory_xact_try_lock(*key: int) -> bool:
    """Take PostgreSQL's advisory lock on ``key`` until the transaction ends if it is free; False when another
    transaction holds it. Elsewhere (SQLite) True: its immediate transactions already take turns."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_try_advisory_xact_lock({', '.join(['%s'] * len(key))})", list(key))
        return bool(cursor.fetchone()[0])

"""The event feed (``GET /api/v1/events/``): a client's events in commit order, from a cursor."""

import operator
from functools import reduce

from django.db import connection
from django.db.models import Q

from integration.models import NotificationEvent

# The feed's horizon (see _feed_horizon). pg_stat_activity.backend_xid and pg_prepared_xacts.transaction are
# 32-bit xids: each is widened to 64 bits by how far it is behind the snapshot's next xid (a live xid is never more
# than 2^31 behind: wraparound protection); one at or past the next xid began after the snapshot and is ignored.
_HORIZON = """
WITH next AS (
    SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xid8,
           pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin8
), running AS (
    SELECT backend_xid::text::bigint AS xid FROM pg_stat_activity
     WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()
    UNION ALL
    SELECT transaction::text::bigint FROM pg_prepared_xacts WHERE database = current_database()
), behind AS (
    SELECT ((next.xid8 % 4294967296) - running.xid + 4294967296) % 4294967296 AS n FROM running, next
), hidden AS (
    SELECT count(*) AS n FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid()
       AND NOT (pg_has_role('pg_read_all_stats', 'USAGE') OR coalesce(pg_has_role(usesysid, 'USAGE'), false))
)
SELECT CASE
         WHEN hidden.n > 0 OR current_setting('transaction_isolation') <> 'read committed' THEN next.xmin8
         ELSE GREATEST(next.xmin8, LEAST(next.xid8, next.xid8 - (
             SELECT max(behind.n) FROM behind WHERE behind.n > 0 AND behind.n <= 2147483648)))
       END,
       pg_current_xact_id_if_assigned()::text::bigint
  FROM next, hidden
"""


def _feed_horizon() -> tuple[int, int | None] | None:
    """Every transaction of this database with an id below the first number has ended, so no event below it can
    still appear; the second is this transaction's own id if it wrote anything (its own events are visible to it).
    None: no limit (SQLite).

    An event is safe to list once every transaction that could still commit one with a smaller id has ended; only
    transactions of this database write our table. So the horizon is the oldest xid held by another session of this
    database (pg_stat_activity.backend_xid) or by a prepared transaction of it, else the next xid of the statement's
    snapshot (an xid assigned after it is larger). The snapshot's xmin, the former horizon, counts the transactions
    of every database on the server: an idle-in-transaction session of another database held the feed back.

    Why it holds: the snapshot is taken before pg_stat_activity is read, so a transaction with an xid below the
    snapshot's next one either shows there (and bounds the horizon) or has left the proc array, and then the
    events query, a later statement with a later snapshot, sees its events. Backend status is cached for a
    transaction: ``pg_stat_clear_snapshot()`` first reads it afresh.

    Falls back to the snapshot's xmin (correct, only held back by other databases' transactions) when it cannot see
    every session's backend_xid: PostgreSQL shows it for other roles' sessions only to superusers and members of
    pg_read_all_stats (grant that role to linkbridge's user); and outside READ COMMITTED, where the events query
    reads the same snapshot and a transaction still running at it may have ended before pg_stat_activity was read.
    """
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(_HORIZON)
        return cursor.fetchone()


def events_page(*visible, after: tuple[int, int] = (0, 0), limit: int = 100) -> list[NotificationEvent]:
    """The feed: the events of the ``visible`` querysets (the caller's order events, everyone's store and
    menu events, as ``api.permissions`` decides), oldest first, after a cursor ``(txid, id)``.

    Events are read in (transaction id, id) order, and only from transactions older than every one still
    running: an event committed later always sorts after the cursor, so a consumer never skips one, and no
    lock orders the writers (a global lock serialised every order change and slowed the outage drain).
    Each queryset is read on its own, from the cursor along an index, and the pages merged (UNION ALL): an
    OR of them sorted the whole week's feed for every page (100 ms at a week of 10 M orders a year)."""
    txid, pk = after
    window = Q(txid__gte=txid) & (Q(txid__gt=txid) | Q(txid=txid, id__gt=pk))
    horizon = _feed_horizon()
    if horizon is not None:
        ended_before, own = horizon
        window &= Q(txid__lt=ended_before) | Q(txid=own) if own else Q(txid__lt=ended_before)
    order = ("txid", "id")

    def page(events):
        return (
            events.filter(window).order_by(*order).only("id", "txid", "event_id", "type", "timestamp", "data")[:limit]
        )

    first, *rest = visible
    if rest and connection.features.supports_slicing_ordering_in_compound:
        return list(page(first).union(*map(page, rest), all=True).order_by(*order)[:limit])
    return list(page(reduce(operator.or_, visible)))  # SQLite: no ORDER BY or LIMIT inside a UNION


def feed_cursor(event: NotificationEvent) -> str:
    return f"{event.txid}-{event.pk}"

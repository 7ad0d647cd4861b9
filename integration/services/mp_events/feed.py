"""The event feed (``GET /api/v1/events/``): a client's events in commit order, from a cursor."""

import operator
from functools import reduce

from django.db import connection
from django.db.models import Q

from integration.models import NotificationEvent


def _feed_horizon() -> tuple[int, int | None] | None:
    """Every transaction with an id below the first number has ended, so no event below it can still appear;
    the second is this transaction's own id if it wrote anything (its own events are visible to it). None:
    no limit (SQLite)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,"
            " pg_current_xact_id_if_assigned()::text::bigint"
        )
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

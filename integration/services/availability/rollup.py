"""The per store-day rollup: each finished store-local day computed once from the record (by the same
function the live reads use) into ``AvailabilityDay``, so the all-stores reads sum rows instead of walking
a year of changes. Runs from the sweep (every minute); a day is rolled up once it has been over for
``GRACE`` (a circuit change written a moment late still counts).

The live rollup (``availability_rollup_live``, with each 30-second alert evaluation) writes each store's
days not rolled up yet (today) as ``AvailabilityLiveDay`` rows: what the all-stores list orders by for those
days. Both write under one advisory lock: the live rollup reads the watermarks under it and writes only the
days after them; the final rollup deletes a store's live rows of the days it makes final in the same
transaction as it writes them and moves the watermark, so no snapshot counts a day twice."""

import json
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, Min, OuterRef, Subquery
from django.utils import timezone

from integration.locks import advisory_xact_lock, advisory_xact_try_lock
from integration.models import AvailabilityChange, AvailabilityDay, AvailabilityLiveDay, AvailabilityWatermark, Store
from integration.models.availability import CAUSES
from integration.selectors.availability import (
    ROW_FIELDS,
    StoreRef,
    live_ranges,
    rows_as_text,
    stores_availability_days,
)
from integration.selectors.hours import zone_of

GRACE = timedelta(minutes=2)
_LOCK = 0x6C62_6172  # any distinct key: the final and the live rollup take turns writing
BATCH = 200
MAX_DAYS_PER_RUN = 400


def _last_final_day(store: Store, now: datetime) -> date:
    return (now - GRACE).astimezone(zone_of(store.timezone)).date() - timedelta(days=1)


def availability_rollup(now: datetime | None = None, *, max_days: int = MAX_DAYS_PER_RUN) -> int:
    """Roll up every store's finished days not rolled up yet; returns the number of store-days written."""
    now = now or timezone.now()
    first_change = AvailabilityChange.objects.filter(store=OuterRef("pk")).values("store").annotate(m=Min("at"))
    stores = Store.objects.annotate(
        through=Subquery(AvailabilityWatermark.objects.filter(store=OuterRef("pk")).values("through")),
        first_at=Subquery(first_change.values("m")),
    ).only("pk", "timezone")
    todo = []
    for store in stores.iterator(chunk_size=2000):
        if store.through is not None:
            first = store.through + timedelta(days=1)
        elif store.first_at is not None:
            first = store.first_at.astimezone(zone_of(store.timezone)).date()
        else:
            continue
        last = min(_last_final_day(store, now), first + timedelta(days=max_days - 1))
        if first <= last:
            todo.append((store, first, last))
    written = 0
    for n in range(0, len(todo), BATCH):
        written += _write(todo[n : n + BATCH], now)
    return written


def _write(ranges, now) -> int:
    ends: dict = {}
    figures = stores_availability_days(ranges, now, end_states=ends)
    rows = [
        AvailabilityDay(
            store_id=pk,
            date=day.date,
            scheduled_seconds=day.scheduled_seconds,
            accepting_seconds=day.accepting_seconds,
            **day.unavailable_seconds,
        )
        for pk, days in figures.items()
        for day in days
    ]
    marks = []
    for s, _, last in ranges:
        end = ends.get(s.pk)
        state = (
            {"cause": end.cause, "hours": json.loads(end.hours), "detail": end.detail, "actor": end.actor}
            if end
            else {}
        )
        marks.append(AvailabilityWatermark(store_id=s.pk, through=last, has_state=end is not None, **state))
    with transaction.atomic():
        advisory_xact_lock(_LOCK)
        AvailabilityDay.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["store", "date"],
            update_fields=["scheduled_seconds", "accepting_seconds", *CAUSES],
        )
        AvailabilityWatermark.objects.bulk_create(
            marks,
            update_conflicts=True,
            unique_fields=["store"],
            update_fields=["through", "has_state", "cause", "hours", "detail", "actor"],
        )
        final = AvailabilityWatermark.objects.filter(store=OuterRef("store"), through__gte=OuterRef("date"))
        AvailabilityLiveDay.objects.filter(store_id__in=[s.pk for s, _, _ in ranges]).filter(Exists(final)).delete()
    return len(rows)


def availability_rollup_live(now: datetime | None = None) -> int | None:
    """Each store's days not rolled up yet (today; yesterday too until its final rollup) up to ``now``, as
    ``AvailabilityLiveDay`` rows (``as_of=now``), for the all-stores list's order; returns the number of rows
    written, None when the other rollup holds the lock (the next evaluation, 30 s on, writes them).
    Seven statements whatever the number of stores (the lock, the stores, the watermarks, the changes, Link's
    circuit, the special hours, the upsert); the figures are computed in Python (about 0.3 s for 5,000 stores
    on a quiet machine)."""
    now = now or timezone.now()
    with transaction.atomic():
        if not advisory_xact_try_lock(_LOCK):
            return None
        has_record = AvailabilityChange.objects.filter(store=OuterRef("pk"))
        base = Store.objects.filter(Exists(has_record))
        stores = [StoreRef(*v) for v in base.order_by("pk").values_list(*StoreRef._fields)]
        marks_rows = rows_as_text(AvailabilityWatermark.objects.all()).values_list(
            "store_id", "through", "has_state", *ROW_FIELDS[2:]
        )
        marks = {m[0]: m[1:] for m in marks_rows}
        by_day: dict[tuple[date, date], list] = {}
        for s in stores:  # the days since yesterday at most: a rollup days behind catches up on its own
            today = now.astimezone(zone_of(s.timezone)).date()
            by_day.setdefault((today - timedelta(days=1), today), []).append(s)
        live, known = [], {}
        for (first, last), group in by_day.items():
            ranges, standing = live_ranges(group, marks, first, last, now)
            live += ranges
            known.update(standing)
        figures = stores_availability_days(live, now, known=known, among=base.values("pk"))
        days = [(pk, day) for pk, store_days in figures.items() for day in store_days]
        _upsert_provisional(days, now)
    return len(days)


_FIGURES = ("scheduled_seconds", "accepting_seconds", *CAUSES)


def _upsert_provisional(days: list, now: datetime) -> None:
    """Write ``(store pk, DayFigures)`` as ``AvailabilityLiveDay`` rows. On PostgreSQL one ``INSERT ... SELECT
    FROM unnest(arrays) ON CONFLICT DO UPDATE`` (no model instances, no per-value preparation: half the live
    rollup's time went there with bulk_create); elsewhere (SQLite) bulk_create."""
    if not days:
        return
    if connection.vendor != "postgresql":
        rows = [
            AvailabilityLiveDay(
                store_id=pk,
                date=day.date,
                scheduled_seconds=day.scheduled_seconds,
                accepting_seconds=day.accepting_seconds,
                as_of=now,
                **day.unavailable_seconds,
            )
            for pk, day in days
        ]
        AvailabilityLiveDay.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["store", "date"],
            update_fields=[*_FIGURES, "as_of"],
        )
        return
    columns = {
        "store_id": [pk for pk, _ in days],
        "date": [day.date for _, day in days],
        "scheduled_seconds": [day.scheduled_seconds for _, day in days],
        "accepting_seconds": [day.accepting_seconds for _, day in days],
        **{c: [day.unavailable_seconds[c] for _, day in days] for c in CAUSES},
    }
    types = {"store_id": "bigint", "date": "date"}
    arrays = ", ".join(f"%s::{types.get(name, 'integer')}[]" for name in columns)
    table = AvailabilityLiveDay._meta.db_table
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in (*_FIGURES, "as_of"))
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}, as_of) SELECT *, %s::timestamptz FROM unnest({arrays}) "  # noqa: S608
        f"ON CONFLICT (store_id, date) DO UPDATE SET {updates}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, *columns.values()])

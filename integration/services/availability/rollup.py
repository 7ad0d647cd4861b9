"""The per store-day rollup: each finished store-local day computed once from the record (by the same
function the live reads use) into ``AvailabilityDay``, so the all-stores reads sum rows instead of walking
a year of changes. Runs from the sweep (every minute); a day is rolled up once it has been over for
``GRACE`` (a circuit change written a moment late still counts)."""

import json
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Min, OuterRef, Subquery
from django.utils import timezone

from integration.models import AvailabilityChange, AvailabilityDay, AvailabilityWatermark, Store
from integration.models.availability import CAUSES
from integration.selectors.availability import stores_availability_days
from integration.selectors.hours import zone_of

GRACE = timedelta(minutes=2)
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
    return len(rows)

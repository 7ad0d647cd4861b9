"""Availability figures (issue 26): how long each store was scheduled, accepting, and down by cause.

Everything is computed from two append-only records, exactly, by one function (``_day_figures``):

- ``AvailabilityChange``: the store's standing from each change on (its cause and the menu's hours then);
- ``LinkReachability``: when Link's circuit opened and closed (Link's API host, ``LINK_BASE_URL``).

A store is *scheduled* inside its opening hours (``selectors.hours.store_scheduled_intervals``), once it has
a record and while it is mapped. Scheduled time is attributed to exactly one of: accepting, or a cause,
by this precedence (the first that holds wins):

1. ``disconnected`` (Link disconnected the store);
2. ``paused_on_link`` / ``paused_by_ops`` (paused, by whom: a store has one pause at a time);
3. ``no_menu`` (no published menu);
4. ``link_unreachable`` (Link's circuit open while the store would otherwise accept);
5. accepting.

Seconds are rounded once, on running totals (accepting, then the causes in ``CAUSES`` order), so each day's
``accepting_seconds`` plus its ``unavailable_seconds`` equals its ``scheduled_seconds`` exactly.
Finished days are pre-computed per store-day (``AvailabilityDay``, ``services.availability.rollup``); the
all-stores read ranks the stores in SQL over those rows (and the live days' provisional ones,
``AvailabilityLiveDay``, rewritten every 30 s), a page at a time, and computes exactly, from the records,
only the days not rolled up yet (today) of the stores on the page.
"""

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple, overload
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Subquery, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from integration.models import (
    AvailabilityChange,
    AvailabilityDay,
    AvailabilityLiveDay,
    AvailabilityWatermark,
    LinkReachability,
    Store,
)
from integration.models.availability import CAUSES
from integration.selectors.hours import local_day_bounds, special_hours_by_store, store_scheduled_intervals, zone_of

UNMAPPED = AvailabilityChange.UNMAPPED
US = timedelta(microseconds=1)
MAX_DAYS = 92


def link_api_host() -> str:
    """Link's circuit that decides ``link_unreachable``: the API host (menus may come from another host)."""
    return urlsplit(settings.LINK_BASE_URL).netloc


class Row(NamedTuple):
    store_id: int
    at: datetime
    cause: str
    hours: str  # the hours as the database's JSON text: the scheduled intervals' cache key, parsed once per key
    detail: str
    actor: str


class Reach(NamedTuple):
    at: datetime
    reachable: bool


@dataclass
class Segment:
    start: datetime
    end: datetime
    cause: str | None  # None: before the store's first record (not counted)
    hours: list | None  # None: read from hours_key
    detail: str = ""
    actor: str = ""
    hours_key: str = "[]"


@dataclass
class DayFigures:
    date: date
    scheduled_seconds: int = 0
    accepting_seconds: int = 0
    unavailable_seconds: dict = field(default_factory=lambda: dict.fromkeys(CAUSES, 0))

    def as_dict(self) -> dict:
        return {
            "date": self.date.isoformat(),
            "scheduled_seconds": self.scheduled_seconds,
            "accepting_seconds": self.accepting_seconds,
            "unavailable_seconds": dict(self.unavailable_seconds),
        }


def _segments(rows: list[Row], start: datetime, end: datetime) -> list[Segment]:
    """``rows``: the last change before ``start`` (if any) then the changes inside, oldest first."""
    segments = [Segment(start, end, None, [])]
    for row in rows:
        at = max(row.at, start)
        if at >= end:
            break
        last = segments[-1]
        segment = Segment(at, end, row.cause, None, row.detail, row.actor, row.hours)
        if at <= last.start:
            segment.start = last.start
            segments[-1] = segment
        else:
            last.end = at
            segments.append(segment)
    return segments


def _outages(rows: list[Reach], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The circuit's open intervals within ``[start, end)``; ``rows`` as ``_segments`` takes them."""
    spans, opened = [], None
    for row in rows:
        at = max(row.at, start)
        if at >= end:
            break
        if not row.reachable and opened is None:
            opened = at
        elif row.reachable and opened is not None:
            if at > opened:
                spans.append((opened, at))
            opened = None
    if opened is not None and opened < end:
        spans.append((opened, end))
    return spans


def _overlap(spans: list[tuple[datetime, datetime]], starts: list[datetime], a: datetime, b: datetime) -> int:
    total = 0
    i = max(0, bisect.bisect_right(starts, a) - 1)
    while i < len(spans) and spans[i][0] < b:
        s, e = spans[i]
        if e > a:
            total += (min(e, b) - max(s, a)) // US
        i += 1
    return total


def _rounded(micro: list[int]) -> list[int]:
    """Whole seconds that add up: each part is the difference of rounded running totals."""
    seconds, running, previous = [], 0, 0
    for part in micro:
        running += part
        now = (running + 500_000) // 1_000_000
        seconds.append(now - previous)
        previous = now
    return seconds


def _day_figures(
    store, day: date, segments: list[Segment], seg_starts, outages, outage_starts, now, special=None
) -> DayFigures:
    day_start, day_end = local_day_bounds(store.timezone, day)
    day_end = min(day_end, now)
    parts = dict.fromkeys(("accepting", *CAUSES), 0)
    if day_start < day_end:
        i = max(0, bisect.bisect_right(seg_starts, day_start) - 1)
        while i < len(segments) and segments[i].start < day_end:
            seg = segments[i]
            i += 1
            if seg.cause is None or seg.cause == UNMAPPED or seg.end <= day_start:
                continue
            for s, e in store_scheduled_intervals(store, day, seg.hours, key=seg.hours_key, special=special):
                a, b = max(s, seg.start, day_start), min(e, seg.end, day_end)
                if a >= b:
                    continue
                length = (b - a) // US
                if seg.cause:
                    parts[seg.cause] += length
                else:
                    down = _overlap(outages, outage_starts, a, b) if outages else 0
                    parts["link_unreachable"] += down
                    parts["accepting"] += length - down
    seconds = dict(zip(parts, _rounded(list(parts.values())), strict=True))
    figures = DayFigures(day, accepting_seconds=seconds.pop("accepting"), unavailable_seconds=seconds)
    figures.scheduled_seconds = figures.accepting_seconds + sum(seconds.values())
    return figures


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


ROW_FIELDS = ("store_id", "at", "cause", "hours_text", "detail", "actor")


def rows_as_text(queryset):
    return queryset.annotate(hours_text=Cast("hours", TextField()))


def _changes_query(
    store_ids: list[int], start: datetime, end: datetime, known: dict[int, Row] | None = None, *, among=None
) -> list[Row]:
    """The changes of the stores inside ``[start, end)`` and, per store, the last one before ``start``, oldest
    first: one statement (a UNION ALL, each half on the ``(store, at)`` index; an OR of the two would not be).
    ``known``: stores whose standing before their window is known already (the rollup's watermark) are not
    searched for it (5,000 searches for a last row cost more than everything else). ``among``: a subquery of
    store pks containing ``store_ids``, to filter by instead of a list of thousands of ids."""
    known = known or {}
    search = [pk for pk in store_ids if pk not in known]
    stores = among if among is not None else store_ids
    rows = rows_as_text(AvailabilityChange.objects.filter(store_id__in=stores, at__gte=start, at__lt=end))
    rows = rows.values_list(*ROW_FIELDS, "id")
    if search:
        last_before = (
            AvailabilityChange.objects.filter(store=OuterRef("pk"), at__lt=start).order_by("-at").values("pk")[:1]
        )
        previous = Store.objects.filter(pk__in=search).annotate(last=Subquery(last_before)).values("last")
        before = rows_as_text(AvailabilityChange.objects.filter(pk__in=previous))
        rows = rows.union(before.values_list(*ROW_FIELDS, "id"), all=True)
    values = [*rows, *((*row, 0) for row in known.values())]
    return [Row(*v[:-1]) for v in sorted(values, key=lambda v: (v[0], v[1], v[-1]))]


def _reachability(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    host = link_api_host()
    last_before = LinkReachability.objects.filter(host=host, at__lt=start).order_by("-at", "-id").values("pk")[:1]
    inside = LinkReachability.objects.filter(host=host, at__gte=start, at__lt=end).values_list("at", "reachable", "id")
    before = LinkReachability.objects.filter(pk__in=Subquery(last_before)).values_list("at", "reachable", "id")
    rows = sorted(inside.union(before, all=True), key=lambda v: (v[0], v[2]))
    return _outages([Reach(at, reachable) for at, reachable, _ in rows], start, end)


def _window(stores, first: date, last: date, now: datetime) -> tuple[datetime, datetime]:
    starts = [local_day_bounds(s.timezone, first)[0] for s in stores]
    ends = [local_day_bounds(s.timezone, last)[1] for s in stores]
    return min(starts), min(max(ends), now)


def _figures_for(store, first, last, rows, outages, now, special=None) -> list[DayFigures]:
    start, end = local_day_bounds(store.timezone, first)[0], local_day_bounds(store.timezone, last)[1]
    segments = _segments(rows, start, max(start, min(end, now)))
    seg_starts = [s.start for s in segments]
    outage_starts = [s for s, _ in outages]
    return [
        _day_figures(store, d, segments, seg_starts, outages, outage_starts, now, special) for d in _dates(first, last)
    ]


def store_availability_days(store: Store, first: date, last: date, now: datetime | None = None) -> list[DayFigures]:
    """Each store-local day from ``first`` to ``last`` (inclusive), today up to ``now``: three queries (the
    changes, Link's reachability, the special hours)."""
    now = now or timezone.now()
    start, end = _window([store], first, last, now)
    rows = _changes_query([store.pk], start, max(start, end))
    outages = _reachability(start, max(start, end))
    special = special_hours_by_store([store.pk], first, last).get(store.pk)
    return _figures_for(store, first, last, rows, outages, now, special)


def store_local_today(store: Store, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(zone_of(store.timezone)).date()


def stores_availability_days(
    ranges: list[tuple[Store, date, date]],
    now: datetime,
    *,
    known: dict[int, Row] | None = None,
    end_states: dict[int, Row] | None = None,
    among=None,
) -> dict[int, list[DayFigures]]:
    """Per store pk, the figures of each of its days in ``(store, first, last)``.
    ``known``: see ``_changes_query``; ``end_states``: filled with each store's last change before its last
    day ended (what the rollup's watermark keeps). Three queries for all (with the special hours)."""
    ranges = [(s, f, la) for s, f, la in ranges if local_day_bounds(s.timezone, f)[0] < now]
    if not ranges:
        return {}
    start = min(local_day_bounds(s.timezone, f)[0] for s, f, _ in ranges)
    end = max(start, min(max(local_day_bounds(s.timezone, la)[1] for s, _, la in ranges), now))
    by_store = defaultdict(list)
    ids = [s.pk for s, _, _ in ranges]
    for row in _changes_query(ids, start, end, known, among=among):
        by_store[row.store_id].append(row)
    outages = _reachability(start, end)
    if end_states is not None:
        for s, _, la in ranges:
            day_end = local_day_bounds(s.timezone, la)[1]
            before = [row for row in by_store.get(s.pk, []) if row.at < day_end]
            if before:
                end_states[s.pk] = before[-1]
    special = special_hours_by_store(ids, min(f for _, f, _ in ranges), max(la for _, _, la in ranges))
    return {
        s.pk: _figures_for(s, f, la, by_store.get(s.pk, []), outages, now, special.get(s.pk)) for s, f, la in ranges
    }


# --- all stores ----------------------------------------------------------------------------------------


class StoreRef(NamedTuple):
    """What the totals need of a store (thousands of model instances, with their signals, cost 50 ms)."""

    pk: int
    external_store_id: str | None
    name: str
    venue_id: str
    timezone: str

    def __str__(self):
        return self.name or self.venue_id


@dataclass
class StoreTotals:
    store: StoreRef
    scheduled_seconds: int = 0
    accepting_seconds: int = 0
    unavailable_seconds: dict = field(default_factory=lambda: dict.fromkeys(CAUSES, 0))

    @property
    def unavailable_total(self) -> int:
        return sum(self.unavailable_seconds.values())

    @property
    def availability(self) -> float | None:
        return round(self.accepting_seconds / self.scheduled_seconds, 4) if self.scheduled_seconds else None

    def add(self, figures: DayFigures) -> None:
        self.scheduled_seconds += figures.scheduled_seconds
        self.accepting_seconds += figures.accepting_seconds
        for cause, seconds in figures.unavailable_seconds.items():
            self.unavailable_seconds[cause] += seconds


def _sort_key(t: StoreTotals) -> tuple:
    """Worst first: the most unavailable seconds, then the lowest share accepting (unrounded), then the pk: the
    ranking query's ORDER BY, on exact figures."""
    share = t.accepting_seconds / t.scheduled_seconds if t.scheduled_seconds else 1.0
    return (-t.unavailable_total, share, t.store.pk)


def live_ranges(stores, marks: dict[int, tuple], first: date, last: date, now: datetime):
    """The days of ``first`` .. ``last`` after each store's rollup that have begun (today, or more when the
    rollup is behind), as ``stores_availability_days`` takes them, and the standing before them where the
    rollup's watermark knows it. ``marks``: store pk -> ``(through, has_state, cause, hours text, detail,
    actor)``."""
    live, known = [], {}
    for s in stores:
        mark = marks.get(s.pk)
        live_first = max(first, mark[0] + timedelta(days=1)) if mark else first
        if live_first <= last and local_day_bounds(s.timezone, live_first)[0] < now:
            live.append((s, live_first, last))
            if mark and mark[1] and live_first == mark[0] + timedelta(days=1):
                at = local_day_bounds(s.timezone, live_first)[0] - US
                known[s.pk] = Row(s.pk, at, *mark[2:])
    return live, known


_SUMS = ("scheduled_seconds", "accepting_seconds", *CAUSES)


def _ranking_sql(base, first: date, last: date, start: int, stop: int | None) -> tuple[str, list]:
    """One statement (one snapshot): the stores of ``base`` (None: the mapped ones) ranked worst first over the
    rollup's rows of ``first`` .. ``last`` (``AvailabilityDay``, the final days, and ``AvailabilityLiveDay``,
    the days after them as of the last live rollup: never the same day twice, see the rollup), cut to
    ``[start, stop)``; then, for the cut's stores only, their final days' sums and their watermark.

    The ranking sums two columns only: a day's unavailable seconds are its scheduled less its accepting
    ones (the invariant every row keeps). Portable SQL (the demo runs on SQLite): CTEs, CASE, no FILTER."""
    store, day, live, mark = (
        m._meta.db_table for m in (Store, AvailabilityDay, AvailabilityLiveDay, AvailabilityWatermark)
    )
    params: list[object] = [first, last]
    if base is None:
        among = "s.external_store_id IS NOT NULL"
    else:
        inner, inner_params = base.values("pk").order_by().query.sql_with_params()
        among = f"s.id IN ({inner})"
        params += inner_params
    cut = ""
    if stop is not None:
        cut = "LIMIT %s OFFSET %s"
        params += [max(0, stop - start), start]
    elif start:
        cut = f"LIMIT {connection.ops.no_limit_value() or 'ALL'} OFFSET %s"
        params.append(start)
    params[2:2] = [first, last]  # the live days' bounds, after the final days'
    params += [first, last]
    sums = ", ".join(f"SUM(d.{c}) AS {c}" for c in _SUMS)
    found = ", ".join(f"COALESCE(f.{c}, 0)" for c in _SUMS)
    sql = f"""
        WITH r AS (
            SELECT s.id, s.external_store_id, s.name, s.venue_id, s.timezone
            FROM {store} s
            LEFT JOIN (
                SELECT d.store_id, SUM(d.scheduled_seconds) AS scheduled, SUM(d.accepting_seconds) AS accepting
                FROM (
                    SELECT store_id, scheduled_seconds, accepting_seconds FROM {day}
                    WHERE date >= %s AND date <= %s
                    UNION ALL
                    SELECT store_id, scheduled_seconds, accepting_seconds FROM {live}
                    WHERE date >= %s AND date <= %s
                ) d
                GROUP BY d.store_id
            ) a ON a.store_id = s.id
            WHERE {among}
            ORDER BY COALESCE(a.scheduled - a.accepting, 0) DESC,
                     CASE WHEN a.scheduled > 0 THEN a.accepting * 1.0 / a.scheduled ELSE 1.0 END,
                     s.id
            {cut}
        ), f AS (
            SELECT d.store_id, {sums}
            FROM {day} d
            WHERE d.store_id IN (SELECT id FROM r) AND d.date >= %s AND d.date <= %s
            GROUP BY d.store_id
        )
        SELECT r.id, r.external_store_id, r.name, r.venue_id, r.timezone,
               w.through, w.has_state, w.cause, CAST(w.hours AS TEXT), w.detail, w.actor, {found}
        FROM r
        LEFT JOIN {mark} w ON w.store_id = r.id
        LEFT JOIN f ON f.store_id = r.id"""  # noqa: S608 (our table and column names; values are parameters)
    return sql, params


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value  # SQLite's raw cursor: text


class RankedTotals(Sequence[StoreTotals]):
    """Every store's (``stores``, or the mapped ones) totals over its local ``first`` .. ``last``, worst first,
    read a slice at a time (what a paginator asks for): ``count()`` one query; a slice one query (the
    ranking), plus three when a store on it has days not rolled up (today): those days computed from the
    record for the slice's stores only.

    The figures returned are exact (the final days' rows plus the live days computed up to ``now``). The
    ORDER is the rollup's: the final days plus the live days' rows (``AvailabilityLiveDay``), as fresh as the
    last live rollup (every 30 s, ``services.availability.rollup.availability_rollup_live``); within a slice,
    the stores are sorted by their exact figures."""

    def __init__(self, first: date, last: date, now: datetime | None = None, stores=None):
        self.first, self.last = first, last
        self.now = now or timezone.now()
        self.stores = stores  # None: every mapped store
        self._count: int | None = None

    def count(self, *_: object) -> int:  # a paginator's count() (not Sequence's count of a value)
        if self._count is None:
            base = self.stores if self.stores is not None else Store.objects.exclude(external_store_id=None)
            self._count = base.count()
        return self._count

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, index: int) -> StoreTotals: ...

    @overload
    def __getitem__(self, index: slice) -> list[StoreTotals]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            if index.step not in (None, 1):
                raise ValueError("no step")
            start, stop = index.start or 0, index.stop
            if start < 0 or (stop is not None and stop < 0):
                start, stop, _ = index.indices(len(self))
            return self._slice(start, stop)
        found = self[index : index + 1] if index >= 0 else self[len(self) + index : len(self) + index + 1]
        if not found:
            raise IndexError(index)
        return found[0]

    def __iter__(self):
        return iter(self.all())

    def all(self) -> list[StoreTotals]:
        """Every store, exact, worst first by the exact figures (no count query)."""
        return self._slice(0, None)

    def _slice(self, start: int, stop: int | None) -> list[StoreTotals]:
        if stop is not None and stop <= start:
            return []
        sql, params = _ranking_sql(self.stores, self.first, self.last, start, stop)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        totals, marks = {}, {}
        for row in rows:
            ref = StoreRef(*row[:5])
            t = totals[ref.pk] = StoreTotals(ref)
            sums = dict(zip(_SUMS, row[11:], strict=True))
            t.scheduled_seconds, t.accepting_seconds = sums.pop("scheduled_seconds"), sums.pop("accepting_seconds")
            t.unavailable_seconds.update(sums)
            if row[5] is not None:
                marks[ref.pk] = (_as_date(row[5]), bool(row[6]), *row[7:11])
        refs = [t.store for t in totals.values()]
        live, known = live_ranges(refs, marks, self.first, self.last, self.now)
        among = None  # every store: a subquery, not a list of thousands of ids
        if stop is None:
            base = self.stores if self.stores is not None else Store.objects.exclude(external_store_id=None)
            among = base.values("pk")
        for pk, days in stores_availability_days(live, self.now, known=known, among=among).items():
            for figures in days:
                totals[pk].add(figures)
        return sorted(totals.values(), key=_sort_key)


def stores_availability_ranked(first: date, last: date, now: datetime | None = None, stores=None) -> RankedTotals:
    """Every mapped store's (or ``stores``') totals over its local ``first`` .. ``last``, worst first, a slice at
    a time: see ``RankedTotals`` (what the API's pages and the dashboard read)."""
    return RankedTotals(first, last, now, stores)


def stores_availability_totals(first: date, last: date, now: datetime | None = None, stores=None) -> list[StoreTotals]:
    """Every mapped store's (or ``stores``') totals over its local ``first`` .. ``last``, exact, worst first by
    them: the final days summed in SQL, the days after each store's rollup (today) computed from the record.
    Four queries whatever the number of stores (one when no day is live)."""
    return RankedTotals(first, last, now, stores).all()


# --- a store's standing now (what the record keeps) -----------------------------------------------------------


def store_availability_cause(store: Store) -> tuple[str, str, str]:
    """``(cause, detail, actor)``: what keeps the store from taking orders whenever it is scheduled (empty:
    nothing), in the precedence of the module's docstring; its opening hours are not looked at (they are
    applied to the record when figures are computed). Load with ``select_related("menu", "paused_by")``."""
    if store.state == Store.State.DISCONNECTED:
        return "disconnected", store.disconnect_reason, "Link"
    if store.state == Store.State.PAUSED:
        if store.pause_source == Store.PauseSource.LINK:
            return "paused_on_link", store.pause_reason, "the restaurant, on Link"
        user = store.paused_by if store.paused_by_id else None
        return "paused_by_ops", store.pause_reason, f"ops: {user.get_username()}" if user else "ops"
    if not store.external_store_id:
        return UNMAPPED, "not mapped to an MP storefront", ""
    menu = getattr(store, "menu", None)
    if menu is None or menu.state != menu.State.PUBLISHED:
        return "no_menu", "unpublished on Link" if menu is not None else "no menu from Link yet", "Link (menu)"
    return "", "", ""


def store_hours_on_record(store: Store) -> list:
    """The opening hours the record keeps: the menu's, published or not (the last known ones)."""
    menu = getattr(store, "menu", None)
    return list(menu.hours or []) if menu is not None else []


# --- the console's timeline of gaps ----------------------------------------------------------------------------


@dataclass
class Gap:
    start: datetime
    end: datetime
    cause: str
    detail: str
    actor: str

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())


def availability_gaps(
    store: Store, first: date, last: date, now: datetime | None = None, limit: int = 500
) -> list[Gap]:
    """The periods the store could not take orders in its local ``first`` .. ``last`` (hours not applied: a
    pause overnight shows whole), with who or what caused each; Link's outages while it would accept."""
    now = now or timezone.now()
    start, end = _window([store], first, last, now)
    end = max(start, end)
    segments = _segments(_changes_query([store.pk], start, end), start, end)
    gaps = [Gap(s.start, s.end, s.cause, s.detail, s.actor) for s in segments if s.cause and s.cause != UNMAPPED]
    for s, e in _reachability(start, end):
        for seg in segments:
            if seg.cause == "" and seg.start < e and s < seg.end:
                gaps.append(Gap(max(s, seg.start), min(e, seg.end), "link_unreachable", "circuit open", "Link"))
    return sorted(gaps, key=lambda g: g.start, reverse=True)[:limit]

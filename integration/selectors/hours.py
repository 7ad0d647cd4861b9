"""Opening hours (``[{"day","open","close"}]`` in the store's zone): open at a moment, when it closes, the week."""

import functools
import json
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time

from integration.link.menus import DAYS


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def hours_open_at(hours: list[dict], tz_name: str, at: datetime, special: dict | None = None) -> bool:
    """Whether ``at`` falls inside ``hours`` (``[{"day","open","close"}]``) in the store's zone.

    No hours at all means always open. Each entry is ``[open, close)`` on its day; a close at or
    before the open runs past midnight into the next day (``FRI 18:00-02:00`` ends Saturday 02:00,
    ``00:00-00:00`` is the whole day). Several entries per day add up (split shifts).

    ``special`` (``{date: {"closed"} | {"open", "close"}}``, store-local dates: the store's special hours)
    replaces the openings that start on those dates; an opening belongs to the date it starts on, so the
    tail after midnight of the day before a special date is still that day's.
    """
    if not hours and not special:
        return True
    return hours_closing_at(hours, tz_name, at, special) is not None


_WHOLE_DAY = {"open": "00:00", "close": "00:00"}


def _openings_of(day: date, hours: list[dict], special: dict | None) -> list[dict]:
    """The openings that start on the store-local ``day``: its special hours if it has some, else the week's."""
    if special and day in special:
        entry = special[day]
        return [] if entry.get("closed") else [entry]
    if not hours:
        return [_WHOLE_DAY]  # no hours: always open (only asked beside special hours)
    weekday = DAYS[day.weekday()]
    return [entry for entry in hours if entry["day"] == weekday]


def hours_zone(tz_name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def hours_closing_at(hours: list[dict], tz_name: str, at: datetime, special: dict | None = None) -> datetime | None:
    """When the opening ``at`` falls in ends (as ``hours_open_at`` reads them); None when closed then."""
    if not hours and not special:
        return None
    tz = hours_zone(tz_name)
    local = at.astimezone(tz)
    now = local.hour * 60 + local.minute
    today = local.date()
    for started, is_today in ((today, True), (today - timedelta(days=1), False)):
        for entry in _openings_of(started, hours, special):
            opens, closes = _minutes(entry["open"]), _minutes(entry["close"])
            overnight = closes <= opens
            if is_today and opens <= now and (overnight or now < closes):
                day = today + timedelta(days=1 if overnight else 0)
            elif not is_today and overnight and now < closes:
                day = today
            else:
                continue
            return datetime.combine(day, dt_time(0), tzinfo=tz) + timedelta(minutes=closes)  # "24:00" is allowed
    return None


def hours_week(hours: list[dict]) -> list[tuple[str, str]]:
    """``[(day, "11:00-14:00, 17:00-22:00" or "closed")]`` Monday first; a day open round the clock (no hours
    at all, or an opening whose close is its open: ``00:00-00:00``) reads "open 24 h"."""
    if not hours:
        return [(day, "open 24 h") for day in DAYS]
    spans: dict[str, list[str]] = {day: [] for day in DAYS}
    for entry in sorted(hours, key=lambda entry: entry["open"]):
        if entry["day"] in spans:
            whole_day = entry["open"] == entry["close"] or (entry["open"] == "00:00" and entry["close"] == "24:00")
            spans[entry["day"]].append("open 24 h" if whole_day else f"{entry['open']}-{entry['close']}")
    return [(day, ", ".join(spans[day]) or "closed") for day in DAYS]


# --- scheduled time (availability, issue 26) ---------------------------------------------------------------


def zone_of(tz_name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


@functools.lru_cache(maxsize=65536)
def local_day_bounds(tz_name: str, day) -> tuple[datetime, datetime]:
    """A store-local date as ``[start, end)`` in UTC (23 or 25 hours long on a DST change)."""
    tz = zone_of(tz_name)
    start = datetime.combine(day, dt_time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), dt_time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


@functools.lru_cache(maxsize=4096)
def _hours_intervals(hours_key: str, tz_name: str, day) -> tuple[tuple[datetime, datetime], ...]:
    hours = json.loads(hours_key)
    day_start, day_end = local_day_bounds(tz_name, day)
    if not hours:
        return ((day_start, day_end),)
    tz = zone_of(tz_name)
    midnight = datetime.combine(day, dt_time(0), tzinfo=tz)
    today, yesterday = DAYS[day.weekday()], DAYS[(day.weekday() - 1) % 7]
    spans = []
    for entry in hours:
        opens, closes = _minutes(entry["open"]), _minutes(entry["close"])
        overnight = closes <= opens
        if entry["day"] == today:
            end = midnight + timedelta(minutes=closes + (1440 if overnight else 0))
            spans.append((midnight + timedelta(minutes=opens), end))
        if entry["day"] == yesterday and overnight and closes > 0:
            spans.append((midnight, midnight + timedelta(minutes=closes)))
    merged: list[list[datetime]] = []
    for start, end in sorted((s.astimezone(UTC), e.astimezone(UTC)) for s, e in spans):
        start, end = max(start, day_start), min(end, day_end)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def hours_key(hours: list[dict] | None) -> str:
    """``hours`` as a cache key (the same hours, the same key)."""
    return json.dumps(hours or [], sort_keys=True)


def hours_scheduled_intervals(
    hours: list[dict], tz_name: str, day, *, key: str | None = None
) -> tuple[tuple[datetime, datetime], ...]:
    """The UTC intervals of store-local ``day`` inside ``hours`` (as ``hours_open_at`` reads them: an overnight
    opening counts on each side of midnight in its own date; no hours at all: the whole day). ``key``:
    ``hours_key(hours)`` when the caller has it already."""
    return _hours_intervals(key or hours_key(hours), tz_name, day)


def store_scheduled_intervals(
    store, day, hours: list[dict] | None = None, *, key: str | None = None, special: dict | None = None
) -> tuple[tuple[datetime, datetime], ...]:
    """When ``store`` is scheduled to take orders on its local ``day``: THE one place that decides it.

    ``hours``: the menu's opening hours in effect (availability passes the ones recorded with each change);
    None reads the store's menu now; ``key`` (``hours_key`` of them, or their JSON text) stands for ``hours``.
    ``special``: the store's special hours by local date (``special_hours_by_store``); those of ``day`` and of
    the day before (an opening runs past midnight on the date it started) replace the week's openings there,
    as ``hours_open_at`` reads them."""
    if hours is None and key is None:
        menu = getattr(store, "menu", None)
        hours = menu.hours if menu is not None else []
    if special and (day in special or day - timedelta(days=1) in special):
        return _special_intervals(hours if hours is not None else json.loads(key or "[]"), store.timezone, day, special)
    return hours_scheduled_intervals(hours or [], store.timezone, day, key=key)


def _special_intervals(
    hours: list[dict], tz_name: str, day: date, special: dict
) -> tuple[tuple[datetime, datetime], ...]:
    """``day``'s scheduled intervals when special hours touch it: the openings that start on the day before
    (their part after midnight) and on the day, each date's own special hours or else the week's."""
    tz = zone_of(tz_name)
    day_start, day_end = local_day_bounds(tz_name, day)
    spans = []
    for start_date in (day - timedelta(days=1), day):
        midnight = datetime.combine(start_date, dt_time(0), tzinfo=tz)
        for entry in _openings_of(start_date, hours, special):
            opens, closes = _minutes(entry["open"]), _minutes(entry["close"])
            end = midnight + timedelta(minutes=closes + (1440 if closes <= opens else 0))
            spans.append(
                (
                    max((midnight + timedelta(minutes=opens)).astimezone(UTC), day_start),
                    min(end.astimezone(UTC), day_end),
                )
            )
    merged: list[list[datetime]] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def special_hours_by_store(store_pks, first: date, last: date) -> dict[int, dict[date, dict]]:
    """Special hours of these stores from the day before ``first`` to ``last``, by store pk and date: one query."""
    from integration.models import SpecialHours

    rows = SpecialHours.objects.filter(
        store_id__in=list(store_pks), date__gte=first - timedelta(days=1), date__lte=last
    )
    found: dict[int, dict[date, dict]] = {}
    for row in rows:
        found.setdefault(row.store_id, {})[row.date] = row.as_dict()
    return found


# --- special hours (issue 28): store-local dates whose hours replace the menu's -----------------------


def store_local_date(store, at: datetime) -> date:
    return at.astimezone(hours_zone(store.timezone)).date()


def store_special_hours(store, at: datetime) -> dict[date, dict]:
    """The store's special hours for the local dates around ``at`` (the day before, the day, the day after),
    as ``hours_open_at`` takes them. Uses ``prefetch_related("special_hours")`` when the store has it."""
    from integration.models import SpecialHours

    today = store_local_date(store, at)
    wanted = {today - timedelta(days=1), today, today + timedelta(days=1)}
    cached = getattr(store, "_prefetched_objects_cache", {}).get("special_hours")
    rows = cached if cached is not None else SpecialHours.objects.filter(store=store, date__in=wanted)
    return {row.date: row.as_dict() for row in rows if row.date in wanted}


def store_hours_open_at(store, hours: list[dict], at: datetime) -> bool:
    """``hours_open_at`` with the store's special hours: what acceptance and scheduled availability follow."""
    return hours_open_at(hours, store.timezone, at, store_special_hours(store, at))


def store_hours_closing_at(store, hours: list[dict], at: datetime) -> datetime | None:
    return hours_closing_at(hours, store.timezone, at, store_special_hours(store, at))


def special_hours_describe(entry: dict) -> str:
    if entry.get("closed"):
        return f"closed all day on {entry['date']}"
    return f"open {entry['open']}-{entry['close']} on {entry['date']}"


def store_special_hours_upcoming(store, at: datetime | None = None) -> list[dict]:
    """The store's special hours from its local today on, as the API lists them."""
    from django.utils import timezone

    from integration.models import SpecialHours

    today = store_local_date(store, at or timezone.now())
    return [row.as_dict() for row in SpecialHours.objects.filter(store=store, date__gte=today).order_by("date")]

"""Opening hours (``[{"day","open","close"}]`` in the store's zone): open at a moment, when it closes, the week."""

import functools
import json
import zoneinfo
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time

from integration.link.menus import DAYS


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def hours_open_at(hours: list[dict], tz_name: str, at: datetime) -> bool:
    """Whether ``at`` falls inside ``hours`` (``[{"day","open","close"}]``) in the store's zone.

    No hours at all means always open. Each entry is ``[open, close)`` on its day; a close at or
    before the open runs past midnight into the next day (``FRI 18:00-02:00`` ends Saturday 02:00,
    ``00:00-00:00`` is the whole day). Several entries per day add up (split shifts).
    """
    return not hours or hours_closing_at(hours, tz_name, at) is not None


def hours_closing_at(hours: list[dict], tz_name: str, at: datetime) -> datetime | None:
    """When the opening ``at`` falls in ends (as ``hours_open_at`` reads them); None when closed then."""
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    local = at.astimezone(tz)
    today = DAYS[local.weekday()]
    yesterday = DAYS[(local.weekday() - 1) % 7]
    now = local.hour * 60 + local.minute
    for entry in hours:
        opens, closes = _minutes(entry["open"]), _minutes(entry["close"])
        overnight = closes <= opens
        if entry["day"] == today and opens <= now and (overnight or now < closes):
            day = local.date() + timedelta(days=1 if overnight else 0)
        elif entry["day"] == yesterday and overnight and now < closes:
            day = local.date()
        else:
            continue
        return datetime.combine(day, dt_time(0), tzinfo=tz) + timedelta(minutes=closes)  # "24:00" is allowed
    return None


def hours_week(hours: list[dict]) -> list[tuple[str, str]]:
    """``[(day, "11:00-14:00, 17:00-22:00" or "closed")]`` Monday first; a day open round the clock (no hours
    at all, or an opening whose close is its open: ``00:00-00:00``) reads "open 24 h"."""
    if not hours:
        return [(day, "open 24 h") for day in DAYS]
    spans = {day: [] for day in DAYS}
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
    store, day, hours: list[dict] | None = None, *, key: str | None = None
) -> tuple[tuple[datetime, datetime], ...]:
    """When ``store`` is scheduled to take orders on its local ``day``: THE one place that decides it.

    ``hours``: the menu's opening hours in effect (availability passes the ones recorded with each change);
    None reads the store's menu now; ``key`` (``hours_key`` of them, or their JSON text) stands for ``hours``.
    Special hours (issue 28) override here, by store and date."""
    if hours is None and key is None:
        menu = getattr(store, "menu", None)
        hours = menu.hours if menu is not None else []
    return hours_scheduled_intervals(hours, store.timezone, day, key=key)

"""Opening hours (``[{"day","open","close"}]`` in the store's zone): open at a moment, when it closes, the week."""

import zoneinfo
from datetime import datetime, timedelta
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
    spans: dict[str, list[str]] = {day: [] for day in DAYS}
    for entry in sorted(hours, key=lambda entry: entry["open"]):
        if entry["day"] in spans:
            whole_day = entry["open"] == entry["close"] or (entry["open"] == "00:00" and entry["close"] == "24:00")
            spans[entry["day"]].append("open 24 h" if whole_day else f"{entry['open']}-{entry['close']}")
    return [(day, ", ".join(spans[day]) or "closed") for day in DAYS]

"""Opening hours (``[{"day","open","close"}]`` in the store's zone): open at a moment, when it closes, the week."""

import zoneinfo
from datetime import date, datetime, timedelta
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
    """``[(day, "11:00-14:00, 17:00-22:00" or "closed")]`` Monday first; no hours at all: open all day."""
    if not hours:
        return [(day, "open all day") for day in DAYS]
    spans = {day: [] for day in DAYS}
    for entry in sorted(hours, key=lambda entry: entry["open"]):
        if entry["day"] in spans:
            spans[entry["day"]].append(f"{entry['open']}-{entry['close']}")
    return [(day, ", ".join(spans[day]) or "closed") for day in DAYS]


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

"""Filters for the ops console: compact ages, money, and times by one rule.

The time rule: a time is shown in the store's own zone where a store is the subject (``store_when``),
else in the viewer's zone (``when``: a per-user setting, default UTC, activated per request by the
admin site); always with its zone and seconds; the hover (``title``) gives the whole date and time in
the other zone (the viewer's for a store-local time; the store's or UTC for a viewer's time)."""

import zoneinfo
from datetime import datetime, tzinfo

from django import template
from django.utils import timezone
from django.utils.html import format_html

from integration import counting

register = template.Library()

SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£"}


@register.filter
def duration(seconds) -> str:
    """``45 s``, ``3 min 05 s``, ``2 h 05 min``; ``-`` for None."""
    if seconds is None:
        return "-"
    seconds = int(seconds.total_seconds() if hasattr(seconds, "total_seconds") else seconds)
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    if seconds < 60:
        return f"{sign}{seconds} s"
    if seconds < 3600:
        return f"{sign}{seconds // 60} min {seconds % 60:02d} s"
    return f"{sign}{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@register.filter
def age(at: datetime | None, now: datetime | None = None) -> str:
    """How long ago ``at`` was (``-`` for None)."""
    return "-" if at is None else duration((now or timezone.now()) - at)


@register.filter
def money(minor, currency: str = "USD") -> str:
    if minor is None:
        return "-"
    symbol = SYMBOLS.get(currency)
    amount = f"{abs(minor) / 100:,.2f}"
    sign = "-" if minor < 0 else ""
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


def zone(name: str | None) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def clock(at: datetime, tz: tzinfo, now: datetime | None = None, *, seconds: bool = True) -> str:
    """``04:33:12 UTC`` today (in ``tz``), ``Sun 6 Dec 04:33:12 UTC`` another day, with the year if not this one."""
    local = at.astimezone(tz)
    today = (now or timezone.now()).astimezone(tz).date()
    time = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    if local.date() == today:
        return f"{time} {local.tzname()}"
    year = "" if local.year == today.year else f" {local.year}"
    return f"{local:%a} {local.day} {local:%b}{year} {time} {local.tzname()}"


def full(at: datetime, tz: tzinfo) -> str:
    local = at.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"


@register.filter
def when(at: datetime | None, other_zone: str | None = None):
    """``at`` in the viewer's zone, in a ``<time>`` whose hover shows it in ``other_zone`` (a store's;
    default UTC, or the viewer's zone's full date when that is UTC already)."""
    if at is None:
        return "-"
    viewer = timezone.get_current_timezone()
    other = zone(other_zone) if other_zone else zoneinfo.ZoneInfo("UTC")
    hover = full(at, other if full(at, other) != full(at, viewer) else viewer)
    return format_html('<time datetime="{}" title="{}">{}</time>', at.isoformat(), hover, clock(at, viewer))


@register.filter
def store_when(at: datetime | None, store_zone: str | None = None):
    """``at`` on the store's own clock (its zone named), the hover in the viewer's zone."""
    if at is None:
        return "-"
    tz, viewer = zone(store_zone), timezone.get_current_timezone()
    hover = full(at, viewer)
    return format_html('<time datetime="{}" title="{}">{}</time>', at.isoformat(), hover, clock(at, tz))


@register.filter
def store_time(at: datetime | None, tz_name: str = "UTC") -> str:
    """``18:04 EST`` in the store's zone (``Mon 18:04 EST`` when not today there)."""
    if at is None:
        return "-"
    try:
        tz = zoneinfo.ZoneInfo(tz_name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    local = at.astimezone(tz)
    day = "" if local.date() == timezone.now().astimezone(tz).date() else local.strftime("%a %d %b ")
    return f"{day}{local:%H:%M} {local.tzname()}"


@register.filter
def capped(count: int) -> str:
    """A bounded count (``integration.counting``): "1,000+" once it reached the cap."""
    return counting.capped(count)


@register.simple_tag
def store_choices():
    """Every store for a store dropdown, or None past the picker's limit (then a box to type one in)."""
    from integration.selectors.board import stores_for_picker

    return stores_for_picker()


STATE_LABELS = {  # the order's state in ops' words (the model's labels name Link's statuses: "Pending (Link: INIT)")
    "PENDING": "At Link, not confirmed",
    "CONFIRMED": "Confirmed",
    "IN_PREP": "In preparation",
    "READY": "Ready",
    "REJECTED": "Rejected",
    "CANCELLED": "Cancelled",
    "FAILED": "Failed (Link never took it)",
}


@register.filter
def order_state(order) -> str:
    """``Not yet at Link`` for a pending order Link has not taken, else the state in ops' words."""
    if order.state == "PENDING" and not order.link_order_id:
        return "Not yet at Link"
    return STATE_LABELS.get(order.state, order.get_state_display())


@register.simple_tag
def now_when():
    """Now, by the time rule (the viewer's zone)."""
    return when(timezone.now())

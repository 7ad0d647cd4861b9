"""Filters for the ops console: compact ages, money, times in the store's own zone."""

import zoneinfo
from datetime import datetime

from django import template
from django.utils import timezone

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

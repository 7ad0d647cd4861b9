"""Busy mode as reads: whether a store is busy now (an ended ``until`` counts as not busy at once, before
the sweep removes the row), and how the API and the events show it."""

from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from integration.models import Store, StoreBusy


def _utc(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def store_busy(store: Store, now: datetime | None = None) -> StoreBusy | None:
    """The store's busy mode if on at ``now``; no query when loaded with ``select_related("busy")``."""
    try:
        busy = store.busy
    except ObjectDoesNotExist:
        return None
    if busy is None or (busy.until is not None and busy.until <= (now or timezone.now())):
        return None
    return busy


def busy_public(busy: StoreBusy | None) -> dict | None:
    """``busy`` as the store API and ``store.busy_changed`` show it; None when not busy."""
    if busy is None:
        return None
    return {
        "extra_prep_minutes": busy.extra_prep_minutes,
        "max_orders_per_15_min": busy.max_orders_per_15_min,
        "since": _utc(busy.since),
        "until": _utc(busy.until),
        "set_by": {
            "via": busy.via,
            "who": busy.set_by.get_username() if busy.set_by is not None else None,
            "trigger": busy.trigger or None,
        },
    }

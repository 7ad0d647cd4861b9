"""Special hours (issue 28): store-local dates whose hours replace the menu's (closed, or one opening).

``selectors/hours.py`` reads them wherever opening hours count (``store_accepting``, hence ordering and the
store API, and the scheduled availability); this module writes them and announces, from the sweep, the
``store.accepting_changed`` their boundaries cause (nothing else happens at those moments to announce it).
"""

import re
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from integration.models import SpecialHours, Store, StoreTimelineEntry, Via
from integration.selectors.hours import special_hours_describe, store_local_date
from integration.services.errors import ActionRefused
from integration.services.mp_events.events import store_accepting_announce

from .timeline import timeline_record, who

HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
MAX_ENTRIES = 400


class SpecialHoursRefused(ActionRefused):
    """Entries that cannot be taken; ``problems`` lists them (``[{"index", "message"}]``)."""

    def __init__(self, message: str, problems: list[dict]):
        super().__init__(message)
        self.message, self.problems = message, problems


def special_hours_parse(entries) -> list[dict]:
    """``[{"date", "closed": true} | {"date", "open", "close"}]`` checked; every problem listed."""
    if not isinstance(entries, list):
        raise SpecialHoursRefused("Special hours are a list.", [{"index": None, "message": "expected a list"}])
    if len(entries) > MAX_ENTRIES:
        raise SpecialHoursRefused(f"At most {MAX_ENTRIES} dates.", [{"index": None, "message": "too many dates"}])
    problems, parsed, seen = [], [], set()
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append({"index": n, "message": "expected an object"})
            continue
        try:
            day = date.fromisoformat(str(entry.get("date", "")))
        except ValueError:
            problems.append({"index": n, "message": f"date must be YYYY-MM-DD, not {entry.get('date')!r}"})
            continue
        if day in seen:
            problems.append({"index": n, "message": f"{day} is listed twice"})
            continue
        seen.add(day)
        closed = entry.get("closed", False)
        opens, closes = entry.get("open"), entry.get("close")
        if closed is True and opens is None and closes is None:
            parsed.append({"date": day, "closed": True, "open": "", "close": ""})
        elif closed is False and all(isinstance(v, str) and HHMM.match(v) for v in (opens, closes)):
            parsed.append({"date": day, "closed": False, "open": opens, "close": closes})
        else:
            problems.append(
                {"index": n, "message": 'give either "closed": true, or "open" and "close" as HH:MM (store-local)'}
            )
    if problems:
        raise SpecialHoursRefused("Some special hours are not valid.", problems)
    return sorted(parsed, key=lambda entry: entry["date"])


def store_special_hours_replace(store: Store, entries, *, user=None, via: str = Via.API) -> list[SpecialHours]:
    """Replace the store's special hours with ``entries`` (dates before the store's today are dropped);
    recorded on its timeline; ``store.accepting_changed`` if that changes whether it takes orders now."""
    parsed = special_hours_parse(entries)
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        today = store_local_date(store, timezone.now())
        before = [row.as_dict() for row in SpecialHours.objects.filter(store=store, date__gte=today)]
        SpecialHours.objects.filter(store=store).delete()
        rows = SpecialHours.objects.bulk_create(
            SpecialHours(store=store, **entry) for entry in parsed if entry["date"] >= today
        )
        after = [row.as_dict() for row in rows]
        listed = "; ".join(special_hours_describe(entry) for entry in after) or "none"
        timeline_record(
            store,
            area=StoreTimelineEntry.Area.STORE,
            action="special_hours_set",
            summary=f"special hours set by {who(user)}: {listed}",
            via=via,
            by=user,
            data={"before": before, "after": after},
        )
        store_accepting_announce(store)
    return rows


def special_hours_announce_boundaries(now: datetime | None = None) -> int:
    """The sweep (every minute): stores with special hours around today are asked whether they take orders,
    and ``store.accepting_changed`` goes out where that flipped at a boundary. Only those stores: a handful."""
    today = (now or timezone.now()).date()
    store_ids = (
        SpecialHours.objects.filter(date__gte=today - timedelta(days=2), date__lte=today + timedelta(days=1))
        .values_list("store_id", flat=True)
        .distinct()
    )
    announced = 0
    for store_id in list(store_ids):
        with transaction.atomic():
            store = Store.objects.select_related("menu").get(pk=store_id)
            if store_accepting_announce(store) is not None:
                announced += 1
    return announced

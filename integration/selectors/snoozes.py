"""Item and modifier snoozes as reads: which are on now (worked out from ``until`` at read time, so a snooze
ends on the second without waiting for the sweep), the catalog with them applied, and forgotten ones."""

import zlib
from datetime import datetime, timedelta

from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from integration.models import ItemSnooze, Store

LONG_SNOOZE = timedelta(hours=24)


def snoozes_active(store: Store, now: datetime | None = None) -> dict[tuple[str, str], datetime]:
    """``{(kind, link_id): until}`` of the store's snoozes still on at ``now``."""
    now = now or timezone.now()
    rows = ItemSnooze.objects.filter(store=store, until__gt=now).values_list("kind", "link_id", "until")
    return {(kind, link_id): until for kind, link_id, until in rows}


def catalog_snoozes_apply(catalog: dict, active: dict[tuple[str, str], datetime]) -> dict:
    """Every item and modifier of ``catalog`` (``menu_catalog``'s shape) gets ``snoozed_until`` (None when not
    snoozed); a snoozed one shows ``available: false``. Link's own ``available: false`` wins: such an entry
    does not come back at the snooze's end, so it shows no ``snoozed_until``."""
    for category in catalog["categories"]:
        for item in category["items"]:
            _apply(item, active.get((ItemSnooze.Kind.ITEM, item["id"])))
    for group in catalog["modifier_groups"]:
        for modifier in group["modifiers"]:
            _apply(modifier, active.get((ItemSnooze.Kind.MODIFIER, modifier["id"])))
    return catalog


def _apply(entry: dict, until: datetime | None) -> None:
    if "snoozed_until" in entry:  # a modifier in several groups is one dict
        return
    if until is not None and entry["available"]:
        entry["available"] = False
        entry["snoozed_until"] = until
    else:
        entry["snoozed_until"] = None


def catalog_etag_snoozed(etag: str, active: dict[tuple[str, str], datetime]) -> str:
    """The menu's ETag, changed by the snoozes on now: a snooze starting or ending changes the catalog."""
    if not active:
        return etag
    spelled = ";".join(f"{kind}:{link_id}:{until.timestamp():.0f}" for (kind, link_id), until in sorted(active.items()))
    return f'{etag[:-1]}-z{zlib.crc32(spelled.encode()):x}"'


def snoozes_of_store(store: Store, now: datetime | None = None) -> list[ItemSnooze]:
    now = now or timezone.now()
    return list(ItemSnooze.objects.filter(store=store, until__gt=now).select_related("created_by"))


def _long(now: datetime) -> Q:
    return Q(until__gt=now) & Q(until__gt=F("created_at") + LONG_SNOOZE)


def snoozes_long(limit: int = 10, now: datetime | None = None) -> list[ItemSnooze]:
    """Snoozes set for more than 24 h and still on (forgotten snoozes), longest first, for the dashboard."""
    now = now or timezone.now()
    return list(
        ItemSnooze.objects.filter(_long(now))
        .select_related("store", "created_by")
        .order_by(F("created_at").asc(), "pk")[:limit]
    )


def menus_with_long_snoozes(now: datetime) -> Q:
    """The dashboard card's condition on menus: the store has a snooze set for more than 24 h."""
    return Q(Exists(ItemSnooze.objects.filter(_long(now), store_id=OuterRef("store_id"))))

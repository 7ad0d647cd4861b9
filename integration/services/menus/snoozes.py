"""Item and modifier snoozes (issue 28): the MP stops selling an entry until a time, and it comes back by itself.

A snooze is keyed by Link's id on the store (``ItemSnooze``), not by a catalog row, so a new menu version keeps
it. Whether it is on is worked out from ``until`` wherever it is read (catalog, ordering), so the entry is back
on the second; the sweep then removes the row and announces the end (``menu.updated``), within a minute.
Link's own ``available: false`` always wins: a snooze never makes an entry available.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integration.models import ItemSnooze, Menu, MenuItem, Modifier, Store, StoreTimelineEntry, Via
from integration.selectors.hours import hours_zone, store_local_date
from integration.selectors.snoozes import snoozes_active
from integration.services.errors import ActionRefused
from integration.services.mp_events.events import menu_updated_announce
from integration.services.stores.timeline import timeline_record, who

logger = logging.getLogger(__name__)

END_OF_DAY = "end_of_day"
MAX_SNOOZE = timedelta(days=30)
ROWS: dict[str, type[MenuItem] | type[Modifier]] = {ItemSnooze.Kind.ITEM: MenuItem, ItemSnooze.Kind.MODIFIER: Modifier}


class SnoozeRefused(ActionRefused):
    """``code`` and ``status`` say how the API answers."""

    def __init__(self, message: str, *, code: str, status: int = 400):
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


def store_end_of_day(store: Store, now: datetime) -> datetime:
    """The store's next local midnight (the end of its day), DST-aware."""
    tomorrow = store_local_date(store, now) + timedelta(days=1)
    return datetime.combine(tomorrow, datetime.min.time(), tzinfo=hours_zone(store.timezone))


def snooze_until_parse(store: Store, value, now: datetime | None = None) -> datetime:
    """``"end_of_day"`` (store-local), an ISO datetime (without an offset: store-local) or a datetime; refused
    when not in the future or more than 30 days ahead."""
    now = now or timezone.now()
    if value == END_OF_DAY:
        return store_end_of_day(store, now)
    try:
        until = value if isinstance(value, datetime) else parse_datetime(str(value or ""))
    except ValueError:  # well formed, out of range ("2026-13-45T00:00")
        until = None
    if until is None:
        raise SnoozeRefused(f'"until" must be an ISO datetime or "{END_OF_DAY}", not {value!r}.', code="invalid_until")
    if until.tzinfo is None:
        until = until.replace(tzinfo=hours_zone(store.timezone))
    if until <= now:
        raise SnoozeRefused(f"{until.isoformat()} has passed: a snooze ends in the future.", code="invalid_until")
    if until > now + MAX_SNOOZE:
        raise SnoozeRefused("A snooze lasts at most 30 days.", code="invalid_until")
    return until


def _menu_and_name(store: Store, kind: str, link_id: str) -> tuple[Menu, str]:
    menu = Menu.objects.filter(store=store).select_related("store").first()
    if menu is None or menu.version is None:
        raise SnoozeRefused(f"{store} has no menu yet.", code="menu_not_found", status=404)
    row = ROWS[kind].objects.filter(menu=menu, link_id=link_id).only("name").first()
    if row is None:
        raise SnoozeRefused(f"No {kind} {link_id!r} on {store}'s menu.", code=f"{kind}_not_found", status=404)
    return menu, row.name


def _local(store: Store, until: datetime) -> str:
    return f"{until.astimezone(hours_zone(store.timezone)):%Y-%m-%d %H:%M} ({store.timezone})"


def _announce(menu: Menu, snooze: ItemSnooze, event: str, **extra) -> None:
    menu_updated_announce(
        menu,
        "availability",
        snooze={
            "event": event,
            "kind": snooze.kind,
            "id": snooze.link_id,
            "name": snooze.name,
            "snoozed_until": snooze.until.isoformat().replace("+00:00", "Z"),
            **extra,
        },
    )


def catalog_snooze(store: Store, kind: str, link_id: str, until, *, user=None, via: str = Via.API) -> ItemSnooze:
    """Snooze an item or modifier until ``until`` (see ``snooze_until_parse``); again: moves its end."""
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        until = snooze_until_parse(store, until)
        menu, name = _menu_and_name(store, kind, link_id)
        snooze = ItemSnooze.objects.filter(store=store, kind=kind, link_id=link_id).first()
        if snooze is None or snooze.until <= timezone.now():
            snooze = snooze or ItemSnooze(store=store, kind=kind, link_id=link_id)
            snooze.created_at = timezone.now()
        snooze.name, snooze.until, snooze.created_by, snooze.via = name, until, user, via
        snooze.save()
        timeline_record(
            store,
            area=StoreTimelineEntry.Area.MENU,
            action="snooze_started",
            summary=f"{kind} {name} ({link_id}) snoozed until {_local(store, until)} by {who(user)}",
            via=via,
            by=user,
            data={"kind": kind, "id": link_id, "until": until.isoformat()},
        )
        _announce(menu, snooze, "started")
    logger.info("%s %s snoozed at %s until %s by %s", kind, link_id, store.venue_id, until, who(user))
    return snooze


def catalog_unsnooze(store: Store, kind: str, link_id: str, *, user=None, via: str = Via.API) -> bool:
    """End a snooze now; False when the entry was not snoozed."""
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        snooze = ItemSnooze.objects.filter(store=store, kind=kind, link_id=link_id, until__gt=timezone.now()).first()
        if snooze is None:
            return False
        snooze.delete()
        timeline_record(
            store,
            area=StoreTimelineEntry.Area.MENU,
            action="snooze_ended",
            summary=f"{kind} {snooze.name} ({link_id}) back on sale: snooze ended by {who(user)}",
            via=via,
            by=user,
            data={"kind": kind, "id": link_id},
        )
        menu = Menu.objects.filter(store=store).select_related("store").first()
        if menu is not None:
            _announce(menu, snooze, "ended", ended_by=via)
    return True


def snoozes_expire(now: datetime | None = None, batch: int = 500) -> int:
    """The sweep: snoozes whose time came are removed and their end announced (the catalog and ordering had
    them back already, from ``until``)."""
    now = now or timezone.now()
    ended = 0
    for pk in list(ItemSnooze.objects.filter(until__lte=now).values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            snooze = (
                ItemSnooze.objects.select_for_update(skip_locked=True)
                .select_related("store")
                .filter(pk=pk, until__lte=now)
                .first()
            )
            if snooze is None:
                continue  # changed or being changed meanwhile
            snooze.delete()
            store = snooze.store
            timeline_record(
                store,
                area=StoreTimelineEntry.Area.MENU,
                action="snooze_ended",
                summary=f"{snooze.kind} {snooze.name} ({snooze.link_id}) back on sale: its snooze ended at "
                f"{_local(store, snooze.until)}",
                via=Via.TIME,
                data={"kind": snooze.kind, "id": snooze.link_id},
            )
            menu = Menu.objects.filter(store=store).select_related("store").first()
            if menu is not None:
                _announce(menu, snooze, "ended", ended_by=Via.TIME)
            ended += 1
    return ended


# --- ordering ------------------------------------------------------------------------------------


def snoozes_refusals(store: Store, lines, index, now: datetime | None = None) -> list[dict]:
    """The order's field problems from snoozes (``lines``: the request's ``LineRequest``s; ``index``: its
    ``MenuIndex``). An entry Link itself has unavailable is left to the menu check (Link wins)."""
    active = snoozes_active(store, now)
    if not active:
        return []
    problems: list[dict] = []

    def check(kind, row, field):
        until = active.get((kind, row.link_id)) if row is not None and row.available else None
        if until is not None:
            problems.append(
                {
                    "field": field,
                    "code": "unavailable",
                    "message": f"{row.name} ({row.link_id}) is snoozed until {_local(store, until)}; "
                    "it comes back by itself then.",
                    "returns_at": until.isoformat().replace("+00:00", "Z"),
                }
            )

    def walk(selections, path):
        for n, selection in enumerate(selections):
            here = f"{path}.modifiers[{n}]"
            check(ItemSnooze.Kind.MODIFIER, index.modifiers.get(selection.modifier_id), f"{here}.modifier_id")
            walk(selection.modifiers, here)

    for n, line in enumerate(lines):
        check(ItemSnooze.Kind.ITEM, index.items.get(line.item_id), f"items[{n}].item_id")
        walk(line.modifiers, f"items[{n}]")
    return problems


def order_invalid_code(errors: list[dict], snoozed: list[dict]) -> str | None:
    """``item_unavailable`` when a snooze is among the problems and every problem is an unavailable entry."""
    if snoozed and all(error["code"] == "unavailable" for error in errors):
        return "item_unavailable"
    return None

"""Read queries shared by the API, the admin and the commands."""

import zlib
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_fsm_log.models import StateLog

from integration.models import (
    CategoryItem,
    GroupModifier,
    ItemGroup,
    Menu,
    MenuCategory,
    MenuItem,
    Modifier,
    ModifierGroup,
    ModifierNestedGroup,
    Order,
    OutboundCall,
    Store,
    WebhookEvent,
)

DAY_NAMES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")  # datetime.weekday() order


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def hours_open_at(hours: list[dict], tz_name: str, at: datetime) -> bool:
    """Whether ``at`` falls inside ``hours`` (``[{"day","open","close"}]``) in the store's zone.

    No hours at all means always open. Each entry is ``[open, close)`` on its day; a close at or
    before the open runs past midnight into the next day (``FRI 18:00-02:00`` ends Saturday 02:00,
    ``00:00-00:00`` is the whole day). Several entries per day add up (split shifts).
    """
    if not hours:
        return True
    try:
        tz = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    local = at.astimezone(tz)
    today = DAY_NAMES[local.weekday()]
    yesterday = DAY_NAMES[(local.weekday() - 1) % 7]
    now = local.hour * 60 + local.minute
    for entry in hours:
        opens, closes = _minutes(entry["open"]), _minutes(entry["close"])
        overnight = closes <= opens
        if entry["day"] == today and opens <= now and (overnight or now < closes):
            return True
        if entry["day"] == yesterday and overnight and now < closes:
            return True
    return False


def store_menu(store: Store) -> Menu | None:
    """The store's menu without a query when it was loaded with ``select_related("menu")``."""
    return getattr(store, "menu", None)


def store_accepting(store: Store, at: datetime | None = None) -> tuple[bool, str]:
    """Whether the store takes orders now, and if not, the first reason why.

    Load stores with ``select_related("menu")`` to avoid a query per store.
    """
    if store.state == Store.State.DISCONNECTED:
        return False, "disconnected from Link"
    if store.state == Store.State.PAUSED:
        return False, f"paused: {store.pause_reason}" if store.pause_reason else "paused"
    if not store.external_store_id:
        return False, "not mapped to an MP storefront"
    menu = store_menu(store)
    if menu is None or menu.state != Menu.State.PUBLISHED:
        return False, "no published menu"
    if not hours_open_at(menu.hours, store.timezone, at or timezone.now()):
        return False, f"closed now (outside its opening hours, {store.timezone})"
    return True, ""


def stores_for_api():
    return Store.objects.select_related("menu").order_by("name", "id")


def store_by_public_id(identifier: str) -> Store | None:
    """A store by the MP storefront id (preferred) or by Link's venue id; None if neither matches."""
    matches = list(stores_for_api().filter(Q(external_store_id=identifier) | Q(venue_id=identifier))[:2])
    for store in matches:
        if store.external_store_id == identifier:
            return store
    return matches[0] if matches else None


def menus_for_admin():
    return Menu.objects.select_related("store")


def menu_etag(menu: Menu, store: Store) -> str:
    """Changes whenever the catalog does (ingest, availability flip, publication, the storefront
    id it names); computed from two rows already loaded, so a 304 costs no catalog queries."""
    storefront = zlib.crc32((store.external_store_id or "").encode())
    return f'"m{menu.pk}-v{menu.version}-r{menu.revision}-s{storefront:x}"'


def menu_catalog(menu: Menu) -> dict:
    """The published catalog as plain data: categories -> items; modifier groups -> modifiers.

    Items name their groups by id and groups are listed once (a group is shared by many items and
    modifiers may open groups of their own; inlining would repeat it, and grow with the nesting).
    A fixed number of queries whatever the size: one per table, stitched together here.
    """
    rates: dict = {}  # few distinct tax rates: format each once

    def rate(value) -> str:
        text = rates.get(value)
        if text is None:
            text = rates[value] = f"{value.normalize():f}"
        return text

    items = {
        pk: {
            "id": link_id,
            "name": name,
            "description": description,
            "price": price,
            "available": available,
            "image_url": image_url or None,
            "tax_rate": rate(tax_rate),
            "modifier_group_ids": [],
        }
        for pk, link_id, name, description, price, available, image_url, tax_rate in MenuItem.objects.filter(
            menu=menu
        ).values_list("pk", "link_id", "name", "description", "price", "available", "image_url", "tax_rate")
    }
    groups = {
        pk: {"id": link_id, "name": name, "min_selections": low, "max_selections": high, "modifiers": []}
        for pk, link_id, name, low, high in ModifierGroup.objects.filter(menu=menu)
        .order_by("id")
        .values_list("pk", "link_id", "name", "min_selections", "max_selections")
    }
    modifiers = {
        pk: {"id": link_id, "name": name, "price": price, "available": available, "modifier_group_ids": ()}
        for pk, link_id, name, price, available in Modifier.objects.filter(menu=menu).values_list(
            "pk", "link_id", "name", "price", "available"
        )
    }
    for item_id, group_id in (
        ItemGroup.objects.filter(item__menu=menu).order_by("item_id", "position").values_list("item_id", "group_id")
    ):
        items[item_id]["modifier_group_ids"].append(groups[group_id]["id"])
    for modifier_id, group_id in (
        ModifierNestedGroup.objects.filter(modifier__menu=menu)
        .order_by("modifier_id", "position")
        .values_list("modifier_id", "group_id")
    ):
        modifier = modifiers[modifier_id]
        modifier["modifier_group_ids"] = (*modifier["modifier_group_ids"], groups[group_id]["id"])
    for group_id, modifier_id in (
        GroupModifier.objects.filter(group__menu=menu)
        .order_by("group_id", "position")
        .values_list("group_id", "modifier_id")
    ):
        groups[group_id]["modifiers"].append(modifiers[modifier_id])
    categories = {
        pk: {"id": link_id, "name": name, "sort_order": sort_order, "items": []}
        for pk, link_id, name, sort_order in MenuCategory.objects.filter(menu=menu)
        .order_by("sort_order", "id")
        .values_list("pk", "link_id", "name", "sort_order")
    }
    for category_id, item_id in (
        CategoryItem.objects.filter(category__menu=menu)
        .order_by("category_id", "position")
        .values_list("category_id", "item_id")
    ):
        categories[category_id]["items"].append(items[item_id])
    return {
        "menu_id": menu.menu_id,
        "version": menu.version,
        "currency": menu.currency,
        "published_at": menu.published_at,
        "hours": menu.hours,
        "categories": list(categories.values()),
        "modifier_groups": list(groups.values()),
    }


# --- orders ---------------------------------------------------------------------------------------


def orders_unconfirmed(cutoff: datetime) -> QuerySet[Order]:
    """PENDING orders pending since before ``cutoff`` and not yet being cancelled."""
    return (
        Order.objects.filter(state=Order.State.PENDING, cancel_requested_at__isnull=True)
        .annotate(pending_from=Coalesce("pending_since", "placed_at"))
        .filter(pending_from__lt=cutoff)
        .order_by("pk")
    )


def orders_with_submission_status(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """Annotate ``submission_status``: the status of each order's latest submit call (one subquery)."""
    latest = OutboundCall.objects.filter(order=OuterRef("pk"), kind=OutboundCall.Kind.SUBMIT_ORDER).order_by("-pk")
    return queryset.annotate(submission_status=Subquery(latest.values("status")[:1]))


def orders_to_reconcile(*, since: datetime | None = None, states: list[str] | None = None) -> QuerySet[Order]:
    """Orders Link knows (they have Link's id); by default the ones still open."""
    orders = Order.objects.exclude(link_order_id__isnull=True).filter(state__in=states or Order.OPEN_STATES)
    if since is not None:
        orders = orders.filter(placed_at__gte=since)
    return orders.order_by("pk")


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "transition", "event" or "call"
    title: str
    detail: str = ""
    status: str = ""
    by: str = ""
    attempts: list = field(default_factory=list)


def order_timeline(order: Order) -> list[TimelineEntry]:
    """Transitions (with their cause), Link's events and our calls to Link for one order, in time order."""
    entries = [TimelineEntry(order.placed_at, "transition", "placed (PENDING)", by=str(order.created_by or ""))]
    logs = StateLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Order), object_id=order.pk
    ).select_related("by")
    for log in logs:
        entries.append(
            TimelineEntry(
                log.timestamp,
                "transition",
                f"{log.source_state} -> {log.state}",
                detail=log.description or "",
                by=str(log.by or ""),
            )
        )
    for event in WebhookEvent.objects.filter(external_order_id=order.external_order_id).order_by("received_at"):
        entries.append(
            TimelineEntry(
                event.received_at,
                "event",
                f"{event.type} ({event.event_id})",
                detail=event.status_reason or event.error,
                status=event.status,
            )
        )
    for call in OutboundCall.objects.filter(order=order).prefetch_related("call_attempts"):
        entries.append(
            TimelineEntry(
                call.created_at,
                "call",
                f"{call.get_kind_display()} #{call.pk} ({call.method} {call.path})",
                detail=call.last_error,
                status=call.status,
                attempts=[
                    {"number": a.number, "at": a.started_at, "status_code": a.status_code, "outcome": a.outcome}
                    for a in call.call_attempts.all()
                ],
            )
        )
    entries.sort(key=lambda entry: entry.at)
    return entries

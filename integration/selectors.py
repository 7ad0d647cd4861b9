"""Read queries shared by the API, the admin and the commands."""

import operator
import zlib
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dt_time
from functools import reduce

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, F, Model, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_fsm_log.models import StateLog

from integration.link.menus import DAYS
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
    """``[(day, "11:00-14:00, 17:00-22:00" or "closed")]`` Monday first; no hours at all: open all day."""
    if not hours:
        return [(day, "open all day") for day in DAYS]
    spans = {day: [] for day in DAYS}
    for entry in sorted(hours, key=lambda entry: entry["open"]):
        if entry["day"] in spans:
            spans[entry["day"]].append(f"{entry['open']}-{entry['close']}")
    return [(day, ", ".join(spans[day]) or "closed") for day in DAYS]


def store_menu(store: Store) -> Menu | None:
    """The store's menu without a query when it was loaded with ``select_related("menu")``."""
    return getattr(store, "menu", None)


def store_published_menu(store: Store) -> Menu | None:
    """The store's menu if it is published; no query when loaded with ``select_related("menu")``."""
    menu = store_menu(store)
    return menu if menu is not None and menu.state == Menu.State.PUBLISHED else None


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
    menu = store_published_menu(store)
    if menu is None:
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
        Order.objects.filter(state=Order.State.PENDING, cancel_requested_at__isnull=True, submitted_at__isnull=False)
        .annotate(pending_from=Coalesce("pending_since", "placed_at"))
        .filter(pending_from__lt=cutoff)
        .order_by("pk")
    )


def submission_statuses(order_ids: list[int]) -> dict[int, str]:
    """The status of each order's latest submit call, for one page of orders (one query).

    Not an annotation: PostgreSQL computes a select-list subquery also for the rows an OFFSET
    skips, so a deep page of the order list would pay for every order before it.
    """
    rows = (
        OutboundCall.objects.filter(order_id__in=order_ids, kind=OutboundCall.Kind.SUBMIT_ORDER)
        .order_by("pk")
        .values_list("order_id", "status")
    )
    return dict(rows)  # later calls overwrite earlier ones


def orders_to_reconcile(*, since: datetime | None = None, states: list[str] | None = None) -> QuerySet[Order]:
    """Orders Link knows (they have Link's id); by default the ones still open."""
    orders = Order.objects.exclude(link_order_id__isnull=True).filter(state__in=states or Order.OPEN_STATES)
    if since is not None:
        orders = orders.filter(placed_at__gte=since)
    return orders.order_by("pk")


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "transition", "event", "call" or "ops" (an action in the admin)
    title: str
    detail: str = ""
    status: str = ""
    by: str = ""
    attempts: list = field(default_factory=list)
    ref: int | None = None  # pk of the event or call, for a link to it


def order_timeline(order: Order) -> list[TimelineEntry]:
    """Transitions (with their cause), Link's events, our calls to Link and ops' admin actions for one
    order, in time order (a fixed number of queries)."""
    entries = [TimelineEntry(order.placed_at, "transition", "placed (PENDING)", by=str(order.created_by or ""))]
    content_type = ContentType.objects.get_for_model(Order)
    logs = StateLog.objects.filter(content_type=content_type, object_id=order.pk).select_related("by")
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
                ref=event.pk,
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
                ref=call.pk,
            )
        )
    actions = LogEntry.objects.filter(content_type=content_type, object_id=str(order.pk)).select_related("user")
    for entry in actions:
        entries.append(
            TimelineEntry(
                entry.action_time, "ops", entry.get_change_message() or str(entry), by=entry.user.get_username()
            )
        )
    entries.sort(key=lambda entry: entry.at)
    return entries


# --- the ops console: what needs a person -----------------------------------------------------------


@dataclass(frozen=True)
class Attention:
    """Rows that need a person: one dashboard card, and the changelist filter (``?attention=key``)
    that lands on exactly those rows. ``where(now)`` is the condition."""

    key: str
    model: type[Model]
    label: str
    todo: str
    where: Callable[[datetime], Q]


def _recent(now: datetime) -> datetime:
    return now - timedelta(hours=settings.OPS_ATTENTION_HOURS)


def _overdue(now: datetime) -> Q:
    # As orders_unconfirmed: the deadline counts from pending_since (placed_at for orders from before it),
    # which Link's 201 sets; an order Link has not taken yet is not late to be confirmed.
    cutoff = now - timedelta(seconds=settings.LINK_CONFIRM_DEADLINE)
    return Q(state=Order.State.PENDING, submitted_at__isnull=False) & (
        Q(pending_since__lt=cutoff) | Q(pending_since__isnull=True, placed_at__lt=cutoff)
    )


def calls_failed_unsettled() -> Q:
    """A failed call counts until something supersedes it: a later call of the same kind for the same
    order (or, without an order, the same store), which counts instead if it fails too; for a
    submission, also Link's order id arriving (Link had it after all)."""
    later = OutboundCall.objects.filter(kind=OuterRef("kind"), pk__gt=OuterRef("pk"))
    superseded = Exists(later.filter(order_id=OuterRef("order_id"))) | (
        Q(order__isnull=True) & Exists(later.filter(order__isnull=True, store_id=OuterRef("store_id")))
    )
    taken = Q(kind=OutboundCall.Kind.SUBMIT_ORDER, order__link_order_id__isnull=False)
    return Q(status=OutboundCall.Status.FAILED) & ~superseded & ~taken


def _failed_call_unresolved(now: datetime) -> Q:
    return calls_failed_unsettled() & Q(completed_at__gte=_recent(now))


ATTENTION = [
    Attention(
        "unmapped",
        Store,
        "Unmapped stores",
        "Open each store and enter its MP storefront id: until then it takes no orders.",
        lambda now: (Q(external_store_id__isnull=True) | Q(external_store_id="")) & ~Q(state=Store.State.DISCONNECTED),
    ),
    Attention(
        "paused",
        Store,
        "Paused stores",
        "Resume a store once the reason is gone; a pause with an end time resumes by itself.",
        lambda now: Q(state=Store.State.PAUSED),
    ),
    Attention(
        "overdue",
        Order,
        "Orders pending past the confirm deadline",
        "The sweep asks Link to cancel these (UNACCEPTED); reconcile one that stays, or call the restaurant.",
        _overdue,
    ),
    Attention(
        "failed",
        Order,
        "Failed orders (last {hours} h)",
        "Link never took them: retry the submission once the store takes orders, else tell the customer.",
        lambda now: Q(state=Order.State.FAILED, placed_at__gte=_recent(now)),
    ),
    Attention(
        "cancel_refused",
        Order,
        "Cancels refused by Link (last {hours} h)",
        "The restaurant goes on with these: call it, or let the order finish and refund the customer.",
        lambda now: Q(cancel_refused_at__gte=_recent(now)),
    ),
    Attention(
        "failed",
        OutboundCall,
        "Failed calls to Link not since settled (last {hours} h)",
        "Read the last error; Retry now once its cause is fixed (an order's submission: retry it on the order).",
        _failed_call_unresolved,
    ),
    Attention(
        "failed",
        WebhookEvent,
        "Failed webhook events",
        "Read the error and traceback on the event; Replay it once the cause is fixed.",
        lambda now: Q(status=WebhookEvent.Status.FAILED),
    ),
    Attention(
        "failed",
        Menu,
        "Menus that failed to fetch or validate",
        "The live menu stays as it was: have the cause fixed on Link, then Refresh menu.",
        lambda now: ~Q(last_error=""),
    ),
]


def attention_items(model: type[Model]) -> list[Attention]:
    return [item for item in ATTENTION if item.model is model]


def attention_label(item: Attention) -> str:
    return item.label.format(hours=settings.OPS_ATTENTION_HOURS)


def attention_counts(models: list[type[Model]], now: datetime | None = None) -> dict[tuple[type[Model], str], int]:
    """Count every attention item of ``models``: one aggregate query per model, its WHERE the OR
    of the items' conditions so each part can use its index."""
    now = now or timezone.now()
    counts = {}
    for model in models:
        items = attention_items(model)
        conditions = {item.key: item.where(now) for item in items}
        row = model.objects.filter(reduce(operator.or_, conditions.values())).aggregate(
            **{key: Count("pk", filter=q) for key, q in conditions.items()}
        )
        counts.update({(model, key): n for key, n in row.items()})
    return counts


def stores_paused(limit: int = 5) -> list[Store]:
    """The most recently paused stores, with who paused them (for the dashboard)."""
    return list(
        Store.objects.filter(state=Store.State.PAUSED)
        .select_related("paused_by")
        .order_by(F("paused_at").desc(nulls_last=True), "-pk")[:limit]
    )

"""Events for MP services: built in the transaction that made the change, delivered through the outbox.

Order events come from the order row itself: a snapshot taken when an order is loaded is compared
with what is saved (``post_save`` runs inside the service's transaction), so every path that
changes an order (events, calls settling, ops actions, sweeps) announces it without knowing about
notifications. Store and menu events work the same way; availability flips (bulk updates) are
announced by the menu service.
"""

from django.db import connection, transaction
from django.db.models import Max
from django.db.models.signals import post_init, post_save
from django.utils import timezone

from integration.locks import advisory_xact_lock
from integration.models import Menu, NotificationEvent, Order, OutboundCall, Store, WebhookEndpoint
from integration.selectors.stores import store_accepting
from integration.services.availability.record import availability_record
from integration.services.outbox.calls import call_create

S = Order.State

ORDER_SUBMITTED = "order.submitted"
ORDER_CONFIRMED = "order.confirmed"
ORDER_PREPARING = "order.preparing"
ORDER_ETA_CHANGED = "order.eta_changed"
ORDER_READY = "order.ready"
ORDER_REJECTED = "order.rejected"
ORDER_CANCELLED = "order.cancelled"
ORDER_FAILED = "order.failed"
ORDER_CANCEL_REFUSED = "order.cancel_refused"
STORE_ACCEPTING_CHANGED = "store.accepting_changed"
MENU_UPDATED = "menu.updated"

ORDER_EVENT_TYPES = (
    ORDER_SUBMITTED,
    ORDER_CONFIRMED,
    ORDER_PREPARING,
    ORDER_ETA_CHANGED,
    ORDER_READY,
    ORDER_REJECTED,
    ORDER_CANCELLED,
    ORDER_FAILED,
    ORDER_CANCEL_REFUSED,
)
EVENT_TYPES = (*ORDER_EVENT_TYPES, STORE_ACCEPTING_CHANGED, MENU_UPDATED)

_ON_ENTERING = {
    S.CONFIRMED: ORDER_CONFIRMED,
    S.IN_PREP: ORDER_PREPARING,
    S.READY: ORDER_READY,
    S.REJECTED: ORDER_REJECTED,
    S.CANCELLED: ORDER_CANCELLED,
    S.FAILED: ORDER_FAILED,
}
# Any distinct 32-bit key: with a store's pk, the lock that serialises that store's accepting announcements.
_STORE_LOCK = 0x6C62_6576

_UNKNOWN = object()
_ORDER_TRACKED = ("state", "link_order_id", "estimated_ready_at", "cancel_refused_at")
_STORE_TRACKED = ("state", "external_store_id", "pause_reason")
_MENU_TRACKED = ("state", "version")


def _snapshot(instance, fields) -> dict:
    """Loaded values only: a deferred field is never fetched here."""
    return {f: instance.__dict__.get(f, _UNKNOWN) for f in fields}


def _changed(before: dict, after: dict, field: str) -> bool:
    old, new = before.get(field, _UNKNOWN), after[field]
    return old is not _UNKNOWN and new is not _UNKNOWN and old != new


def _transaction_id() -> int:
    """This transaction's id on PostgreSQL (the feed's order, see ``events_page``); 0 elsewhere, where writes
    are serialised anyway (SQLite)."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        return cursor.fetchone()[0]


def event_emit(type_: str, data: dict, *, client_id=None, order=None, store=None) -> NotificationEvent:
    """Record an event and its deliveries in the caller's transaction (order events get a sequence)."""
    with transaction.atomic(savepoint=False):
        sequence = None
        if order is not None:
            last = NotificationEvent.objects.filter(order=order).aggregate(last=Max("sequence"))["last"]
            sequence = (last or 0) + 1
            data = {**data, "sequence": sequence}
        event = NotificationEvent(type=type_, client_id=client_id, order=order, store=store, sequence=sequence)
        event.txid = _transaction_id()
        event.timestamp, event.data = timezone.now(), data
        event.save(force_insert=True)
        deliveries_create(event)
    return event


def endpoints_for(event: NotificationEvent) -> list[WebhookEndpoint]:
    """Enabled endpoints subscribed to the event: the order's client's only, for an order event."""
    endpoints = WebhookEndpoint.objects.filter(enabled=True).only("pk", "url", "event_types")
    if event.order_id is not None:
        endpoints = endpoints.filter(client_id=event.client_id)
    return [e for e in endpoints if event.type in e.event_types]


def deliveries_create(event: NotificationEvent) -> list[OutboundCall]:
    """One outbox row per endpoint, in the event's transaction."""
    return [
        call_create(kind=OutboundCall.Kind.DELIVER_EVENT, method="POST", path=e.url, endpoint=e, event=event)
        for e in endpoints_for(event)
    ]


def event_body(event: NotificationEvent) -> dict:
    """What a webhook carries and the feed lists: ``{type, timestamp, data}``."""
    return {"type": event.type, "timestamp": event.timestamp.isoformat().replace("+00:00", "Z"), "data": event.data}


# --- orders ---------------------------------------------------------------------------------------


def order_event_types(before: dict, after: dict) -> list[str]:
    """What one save of an order announces, in the order a consumer expects to see it."""
    types = []
    if _changed(before, after, "link_order_id") and not before["link_order_id"]:
        types.append(ORDER_SUBMITTED)
    moved = _changed(before, after, "state")
    if moved and after["state"] in _ON_ENTERING:
        types.append(_ON_ENTERING[after["state"]])
    if _changed(before, after, "estimated_ready_at") and not (moved and after["state"] == S.CONFIRMED):
        types.append(ORDER_ETA_CHANGED)
    if _changed(before, after, "cancel_refused_at") and after["cancel_refused_at"] is not None:
        types.append(ORDER_CANCEL_REFUSED)
    return types


def order_data(order: Order) -> dict:
    """The order as ``GET /api/v1/orders/{id}/`` shows it (without the timeline, read on demand)."""
    from integration.api.orders import OrderSerializer

    return dict(OrderSerializer(order).data)


def order_events_emit(order: Order, types: list[str]) -> list[NotificationEvent]:
    """Order events belong to the API client that placed the order; one without a client has none."""
    if not types or order.created_by_id is None:
        return []
    data = order_data(order)
    return [event_emit(t, data, client_id=order.created_by_id, order=order) for t in types]


def _order_changed(order: Order, before: dict, after: dict) -> None:
    order_events_emit(order, order_event_types(before, after))


# --- stores and menus -----------------------------------------------------------------------------

_NOT_ACCEPTING = (
    ("disconnected", "disconnected"),
    ("paused", "paused"),
    ("not mapped", "unmapped"),
    ("no published menu", "menu_unpublished"),
    ("closed now", "outside_hours"),
)
_BACK_BECAUSE = {
    "disconnected": "reconnected",
    "paused": "resumed",
    "unmapped": "mapped",
    "menu_unpublished": "menu_published",
    "outside_hours": "opened",
}


def _reason_code(why: str) -> str:
    return next((code for prefix, code in _NOT_ACCEPTING if why.startswith(prefix)), "other")


def store_ref(store: Store) -> dict:
    return {"external_store_id": store.external_store_id, "venue_id": store.venue_id, "name": store.name}


def store_accepting_announce(store: Store) -> NotificationEvent | None:
    """``store.accepting_changed`` when the store starts or stops taking orders (compared with the
    last announcement; a store never announced counts as not accepting)."""
    with transaction.atomic(savepoint=False):
        advisory_xact_lock(_STORE_LOCK, store.pk)
        store._state.fields_cache.pop("menu", None)  # it may have changed through another instance
        availability_record(store)  # the availability record (issue 26), in the change's transaction
        accepting, why = store_accepting(store)
        last = (
            NotificationEvent.objects.filter(store_id=store.pk, type=STORE_ACCEPTING_CHANGED)
            .order_by("-id")
            .values_list("data", flat=True)
            .first()
        )
        if accepting == (last["accepting"] if last else False):
            return None
        if accepting:
            reason = _BACK_BECAUSE.get(last["reason"], "accepting") if last else "accepting"
        else:
            reason = _reason_code(why)
        data = {"store": store_ref(store), "accepting": accepting, "reason": reason, "detail": why}
        return event_emit(STORE_ACCEPTING_CHANGED, data, store=store)


def menu_updated_announce(menu: Menu, change: str, **details) -> NotificationEvent:
    """``menu.updated``: ``change`` is ``published`` (a new version), ``availability`` or ``unpublished``."""
    store = menu.store
    data = {
        "store": store_ref(store),
        "menu_id": menu.menu_id,
        "version": menu.version,
        "state": menu.state,
        "change": change,
        **details,
    }
    return event_emit(MENU_UPDATED, data, store=store)


def _store_changed(store: Store, before: dict, after: dict) -> None:
    if any(_changed(before, after, f) for f in _STORE_TRACKED):
        store_accepting_announce(store)


def _menu_changed(menu: Menu, before: dict, after: dict) -> None:
    if _changed(before, after, "state") and after["state"] == Menu.State.UNPUBLISHED:
        menu_updated_announce(menu, "unpublished")
    elif after["state"] == Menu.State.PUBLISHED and (
        _changed(before, after, "state") or _changed(before, after, "version")
    ):
        menu_updated_announce(menu, "published")
    if _changed(before, after, "state"):
        store_accepting_announce(menu.store)


def _watch(model, fields: tuple[str, ...], react) -> None:
    """``react(instance, before, after)`` after each save, inside the saving transaction; ``before``
    holds the values as loaded (or as last saved), ``{}`` for a new row."""

    def loaded(sender, instance, **kwargs):
        instance._notify_seen = _snapshot(instance, fields)

    def saved(sender, instance, created, **kwargs):
        after = _snapshot(instance, fields)
        before = {} if created else getattr(instance, "_notify_seen", {})
        instance._notify_seen = after
        react(instance, before, after)

    post_init.connect(loaded, sender=model, weak=False, dispatch_uid=f"notify-{model.__name__}-init")
    post_save.connect(saved, sender=model, weak=False, dispatch_uid=f"notify-{model.__name__}-save")


def signals_connect() -> None:
    _watch(Order, _ORDER_TRACKED, _order_changed)
    _watch(Store, _STORE_TRACKED, _store_changed)
    _watch(Menu, _MENU_TRACKED, _menu_changed)

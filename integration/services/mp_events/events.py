"""Events for MP services: emitted by the service that makes the change, in its transaction, delivered
through the outbox. No model signal is involved: a change nobody announces (a ``queryset.update()``, a
save outside the services) announces nothing, so every change MP services hear about goes through a
service that says so.

- Orders: ``services/orders/transitions.py`` is the one door. ``move()`` runs every state change (the
  state field is protected and the transitions refuse to run outside it) and notes the entered state's
  event (``order_entered_event``); ``order_link_id_set``, ``order_eta_set`` and ``order_cancel_refused``
  note ``order.submitted``, ``order.eta_changed`` and ``order.cancel_refused`` where those fields are set;
  ``order_save()`` saves the order and emits what was noted (``order_events_in_order``), carrying the order
  as the API shows it (``selectors.orders.order_public``).
- Stores: every store service that can change whether a store takes orders (connect, disconnect, pause,
  resume, expired pauses, status sync, mapping) calls ``store_accepting_announce``, which announces
  ``store.accepting_changed`` only when that differs from the last announcement.
- Menus: the menu services call ``menu_updated_announce`` (a new version published, unpublished,
  availability) and, when the menu's state changed, ``store_accepting_announce``.
"""

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from integration.locks import advisory_xact_lock
from integration.models import Menu, NotificationEvent, Order, OutboundCall, Store, WebhookEndpoint
from integration.selectors.orders import order_public
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
STORE_BUSY_CHANGED = "store.busy_changed"

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
EVENT_TYPES = (*ORDER_EVENT_TYPES, STORE_ACCEPTING_CHANGED, MENU_UPDATED, STORE_BUSY_CHANGED)

_ON_ENTERING: dict[str, str] = {
    S.CONFIRMED: ORDER_CONFIRMED,
    S.IN_PREP: ORDER_PREPARING,
    S.READY: ORDER_READY,
    S.REJECTED: ORDER_REJECTED,
    S.CANCELLED: ORDER_CANCELLED,
    S.FAILED: ORDER_FAILED,
}
# Any distinct 32-bit key: with a store's pk, the lock that serialises that store's accepting announcements.
_STORE_LOCK = 0x6C62_6576


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


_STATE_EVENTS = frozenset(_ON_ENTERING.values())
# The order a consumer expects one save's events in: Link has it, its new state, its new ETA, a refused cancel.
_RANK = {ORDER_SUBMITTED: 0, **dict.fromkeys(_STATE_EVENTS, 1), ORDER_ETA_CHANGED: 2, ORDER_CANCEL_REFUSED: 3}


def order_entered_event(state: str) -> str | None:
    """The event an order entering ``state`` announces (none for PENDING: a retried submission is not news)."""
    return _ON_ENTERING.get(state)


def order_state_event(type_: str) -> bool:
    return type_ in _STATE_EVENTS


def order_events_in_order(types: list[str]) -> list[str]:
    """One save's events as a consumer expects them: ``order.submitted``, the entered state's event,
    ``order.eta_changed`` (not beside ``order.confirmed``, which carries the ETA), ``order.cancel_refused``."""
    wanted = [t for t in dict.fromkeys(types) if not (t == ORDER_ETA_CHANGED and ORDER_CONFIRMED in types)]
    return sorted(wanted, key=_RANK.__getitem__)


def order_data(order: Order) -> dict:
    """The order as ``GET /api/v1/orders/{id}/`` shows it (without the timeline, read on demand)."""
    return order_public(order)


def order_events_emit(order: Order, types: list[str]) -> list[NotificationEvent]:
    """Order events belong to the API client that placed the order; one without a client has none.
    Called by ``order_save`` once the order is saved; ``types`` in the order they are emitted."""
    if not types or order.created_by_id is None:
        return []
    data = order_data(order)
    return [event_emit(t, data, client_id=order.created_by_id, order=order) for t in types]


# --- stores and menus -----------------------------------------------------------------------------

_NOT_ACCEPTING = (
    ("disconnected", "disconnected"),
    ("paused", "paused"),
    ("not mapped", "unmapped"),
    ("no published menu", "menu_unpublished"),
    ("closed now", "outside_hours"),
    ("special hours", "special_hours"),
)
_BACK_BECAUSE = {
    "disconnected": "reconnected",
    "paused": "resumed",
    "unmapped": "mapped",
    "menu_unpublished": "menu_published",
    "outside_hours": "opened",
    "special_hours": "opened",
}


def _reason_code(why: str) -> str:
    return next((code for prefix, code in _NOT_ACCEPTING if why.startswith(prefix)), "other")


def accepting_reason_code(why: str) -> str | None:
    """The machine-readable reason ``store.accepting_changed`` gives for ``store_accepting``'s why (None: accepting)."""
    return _reason_code(why) if why else None


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
        last = last if isinstance(last, dict) else {}  # stored JSON of any age: older shapes lack keys
        if accepting == bool(last.get("accepting", False)):
            return None
        reason = _BACK_BECAUSE.get(last.get("reason", ""), "accepting") if accepting else _reason_code(why)
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

"""The live order board: open orders by where they stand, oldest first, with their SLA timers."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integration.counting import capped_counts
from integration.models import Order, Store

PER_COLUMN = 30

COLUMNS = [
    (
        "not_at_link",
        "Not yet at Link",
        "Link has not taken these yet: their submission is being sent or retried.",
        Q(state=Order.State.PENDING, link_order_id__isnull=True),
    ),
    (
        "waiting",
        "At Link, not confirmed",
        "Link has them; the restaurant has not confirmed yet.",
        Q(state=Order.State.PENDING, link_order_id__isnull=False),
    ),
    ("confirmed", "Confirmed", "The restaurant accepted them.", Q(state=Order.State.CONFIRMED)),
    ("in_prep", "In preparation", "Being made.", Q(state=Order.State.IN_PREP)),
]


@dataclass
class BoardOrder:
    order: Order
    since_placed: timedelta
    since_submitted: timedelta | None
    confirm_left: timedelta | None  # time to the confirm deadline (negative: past it); PENDING only
    ready_left: timedelta | None  # time to the estimated ready time (negative: late)
    closed_at: datetime | None = None  # a closed order's end (its ages stop there); None while open


@dataclass
class BoardColumn:
    key: str
    title: str
    meaning: str
    count: int
    orders: list[BoardOrder]


def order_timers(order: Order, now: datetime | None = None) -> BoardOrder:
    """Timers of an open order. A closed one (ready, cancelled, rejected, failed) counts nothing down: its
    ages stop at its close, and it has neither a confirm deadline nor a ready time ahead."""
    now = now or timezone.now()
    confirm_left = ready_left = None
    closed = order.state not in Order.OPEN_STATES
    if closed:
        now = order.closed_at or order.ready_at or order.updated_at or now
    elif order.state == Order.State.PENDING:
        pending_from = order.pending_since or order.placed_at
        confirm_left = pending_from + timedelta(seconds=settings.LINK_CONFIRM_DEADLINE) - now
    elif order.estimated_ready_at:
        ready_left = order.estimated_ready_at - now
    return BoardOrder(
        order=order,
        since_placed=now - order.placed_at,
        since_submitted=now - order.submitted_at if order.submitted_at else None,
        confirm_left=confirm_left,
        ready_left=ready_left,
        closed_at=now if closed else None,
    )


def order_board(store: Store | None = None, now: datetime | None = None) -> list[BoardColumn]:
    """One count query (each column counted up to ``counting.CAP``) and one query per column, whatever the
    number of orders: each column walks the open orders' partial index (state, placed_at, id) in order."""
    now = now or timezone.now()
    orders = Order.objects.all() if store is None else Order.objects.filter(store=store)
    counts = capped_counts({key: orders.filter(q) for key, _, _, q in COLUMNS})
    columns = []
    for key, title, meaning, q in COLUMNS:
        rows = orders.filter(q).select_related("store").order_by("placed_at", "pk")[:PER_COLUMN]
        columns.append(BoardColumn(key, title, meaning, counts[key], [order_timers(order, now) for order in rows]))
    return columns


PICKER_MAX = 300  # more stores than this: the picker is a box to type a store in, not a list


def stores_for_picker() -> list[tuple[int, str]] | None:
    """Every store, by name, for the picker's list; None when there are more than ``PICKER_MAX``."""
    stores = list(Store.objects.order_by("name", "pk").values_list("pk", "name")[: PICKER_MAX + 1])
    return None if len(stores) > PICKER_MAX else stores


def store_for_picker(value: str) -> Store | None:
    """The store a picker names: its id (from the list), else its venue id, storefront id or exact name."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return Store.objects.filter(pk=value).first()
    named = Q(venue_id=value) | Q(external_store_id=value) | Q(name__iexact=value)
    return Store.objects.filter(named).order_by("pk").first()

"""The live order board: open orders by where they stand, oldest first, with their SLA timers."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

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


@dataclass
class BoardColumn:
    key: str
    title: str
    meaning: str
    count: int
    orders: list[BoardOrder]


def order_timers(order: Order, now: datetime | None = None) -> BoardOrder:
    now = now or timezone.now()
    confirm_left = ready_left = None
    if order.state == Order.State.PENDING:
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
    )


def order_board(store: Store | None = None, now: datetime | None = None) -> list[BoardColumn]:
    """One count query and one query per column, whatever the number of orders."""
    now = now or timezone.now()
    open_orders = Order.objects.filter(state__in=Order.OPEN_STATES)
    if store is not None:
        open_orders = open_orders.filter(store=store)
    counts = open_orders.aggregate(**{key: Count("pk", filter=q) for key, _, _, q in COLUMNS})
    columns = []
    for key, title, meaning, q in COLUMNS:
        rows = open_orders.filter(q).select_related("store").order_by("placed_at", "pk")[:PER_COLUMN]
        columns.append(BoardColumn(key, title, meaning, counts[key], [order_timers(order, now) for order in rows]))
    return columns


def stores_for_picker() -> list[tuple[int, str]]:
    return list(Store.objects.order_by("name", "pk").values_list("pk", "name"))

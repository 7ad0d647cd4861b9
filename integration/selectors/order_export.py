"""CSV rows of an order list (the admin passes the list's own filtered queryset)."""

from collections.abc import Iterator

from django.db.models import QuerySet

HEADER = [
    "display_code",
    "external_order_id",
    "link_order_id",
    "store",
    "state",
    "placed_at_utc",
    "customer_name",
    "customer_phone",
    "total",
    "currency",
    "submitted_at_utc",
    "confirmed_at_utc",
    "ready_at_utc",
    "reason_code",
    "failure_reason",
]


def _iso(value) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def orders_csv_rows(orders: QuerySet) -> Iterator[list]:
    """The header, then one row per order, read in chunks (any number of orders, bounded memory)."""
    yield HEADER
    for order in orders.select_related("store").iterator(chunk_size=2000):
        yield [
            order.display_code,
            order.external_order_id,
            order.link_order_id or "",
            order.store.name,
            order.state,
            _iso(order.placed_at),
            order.customer_name,
            order.customer_phone,
            f"{order.total / 100:.2f}",
            order.currency,
            _iso(order.submitted_at),
            _iso(order.confirmed_at),
            _iso(order.ready_at),
            order.reason_code,
            order.failure_reason,
        ]

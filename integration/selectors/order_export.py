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


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: str) -> str:
    """A text cell a spreadsheet shows as text: one starting like a formula gets a leading single quote
    (OWASP's CSV injection rule): a customer named ``=HYPERLINK(...)`` was exported as a live formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _iso(value) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def orders_csv_rows(orders: QuerySet) -> Iterator[list]:
    """The header, then one row per order, read in chunks (any number of orders, bounded memory)."""
    yield HEADER
    for order in orders.select_related("store").iterator(chunk_size=2000):
        yield [
            cell(order.display_code),
            cell(order.external_order_id),
            cell(order.link_order_id or ""),
            cell(order.store.name),
            order.state,
            _iso(order.placed_at),
            cell(order.customer_name),
            cell(order.customer_phone),
            f"{order.total / 100:.2f}",
            cell(order.currency),
            _iso(order.submitted_at),
            _iso(order.confirmed_at),
            _iso(order.ready_at),
            cell(order.reason_code),
            cell(order.failure_reason),
        ]

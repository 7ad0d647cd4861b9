"""Orders: the sweeps' and reconcile's queries, submission statuses for a page, an order's timeline, and its
public representation (what the internal API and the MP events show)."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_fsm_log.models import StateLog

from integration.models import Order, OutboundCall, WebhookEvent


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


# --- the public representation ------------------------------------------------------------------


def _when(value) -> str | None:
    """A time as the API writes it: ISO 8601 in the current zone (UTC), ``Z`` for UTC; a value not yet
    parsed (a string) as it is."""
    if not value:
        return None
    if isinstance(value, str):
        return value
    text = timezone.localtime(value if timezone.is_aware(value) else timezone.make_aware(value)).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _text(value) -> str | None:
    return None if value is None else str(value)


def order_public(order: Order) -> dict:
    """The order as ``GET /api/v1/orders/{id}/`` shows it, without the timeline (read on demand).

    Plain Python, no serializer: the MP events carry it from inside services. The API's
    ``OrderSerializer`` declares the same shape (and documents it); a test holds the two equal.
    """
    store = order.store
    return {
        "external_order_id": _text(order.external_order_id),
        "link_order_id": _text(order.link_order_id),
        "display_code": _text(order.display_code),
        "store": {"external_store_id": _text(store.external_store_id), "venue_id": _text(store.venue_id)},
        "state": _text(order.state),
        "currency": _text(order.currency),
        "totals": {
            name: int(getattr(order, name))
            for name in ("subtotal", "tax", "tip", "delivery_fee", "discount", "total", "markup")
        },
        "customer": {"name": _text(order.customer_name), "phone": _text(order.customer_phone)},
        "fulfillment": {"type": _text(order.fulfillment_type), "scheduled_for": _when(order.scheduled_for)},
        "notes": _text(order.notes),
        "times": {
            name: _when(getattr(order, name))
            for name in ("placed_at", "submitted_at", "confirmed_at", "estimated_ready_at", "ready_at", "closed_at")
        },
        "prep_time_minutes": None if order.prep_time_minutes is None else int(order.prep_time_minutes),
        "reason_code": _text(order.reason_code),
        "reason": _text(order.reason),
        "cancelled_by": _text(order.cancelled_by),
        "failure_reason": _text(order.failure_reason),
        "cancel": {
            "status": _text(order.cancel_status),
            "requested_at": _when(order.cancel_requested_at),
            "reason_code": _text(order.cancel_reason_code),
            "reason": _text(order.cancel_reason),
            "cancel_refused_at": _when(order.cancel_refused_at),
            "cancel_refusal": _text(order.cancel_refusal),
        },
        "lines": [
            {
                "item_id": _text(line.item_link_id),
                "name": _text(line.name),
                "quantity": int(line.quantity),
                "item_price": int(line.item_price),
                "unit_price": int(line.unit_price),
                "link_unit_price": int(line.unit_price if line.link_unit_price is None else line.link_unit_price),
                "line_total": int(line.line_total),
                "tax": int(line.tax),
                "special_instructions": _text(line.special_instructions),
                "modifiers": line.modifiers,
            }
            for line in order.lines.all()
        ],
    }

"""Orders: the sweeps' and reconcile's queries, submission statuses for a page, and an order's timeline."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
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

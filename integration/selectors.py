"""Read queries shared by the API, the admin and the commands."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django_fsm_log.models import StateLog

from integration.models import Order, OutboundCall, Store, WebhookEvent


def store_accepting(store: Store) -> tuple[bool, str]:
    """Whether the store takes orders now, and if not, the first reason why."""
    if store.state == Store.State.DISCONNECTED:
        return False, "disconnected from Link"
    if store.state == Store.State.PAUSED:
        return False, f"paused: {store.pause_reason}" if store.pause_reason else "paused"
    if not store.external_store_id:
        return False, "not mapped to an MP storefront"
    return True, ""


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

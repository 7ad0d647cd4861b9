"""Read queries shared by the API, the admin and the commands."""

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, F, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_fsm_log.models import StateLog

from integration.models import Menu, Order, OutboundCall, Store, WebhookEvent


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
    # As orders_unconfirmed: the deadline counts from pending_since (placed_at for orders from before it).
    cutoff = now - timedelta(seconds=settings.LINK_CONFIRM_DEADLINE)
    return Q(state=Order.State.PENDING) & (
        Q(pending_since__lt=cutoff) | Q(pending_since__isnull=True, placed_at__lt=cutoff)
    )


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
        "Failed calls to Link (last {hours} h)",
        "Read the last error; Retry now once its cause is fixed (an order's submission: retry it on the order).",
        lambda now: Q(status=OutboundCall.Status.FAILED, completed_at__gte=_recent(now)),
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

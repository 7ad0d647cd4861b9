"""The trends charts' numbers per hour, computed from the raw orders and tries (``order_hour_stats``,
``call_hour_stats``), and which hours the rollup (``services.ops.trends``) already holds.
Only every store's hour is stored: percentiles cannot be added up across stores, and a row per store
and hour would outnumber the orders (a store places about 2 orders an hour); one store's chart is
computed from its own orders, which its index reaches directly.
"""

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, FloatField, Q, QuerySet
from django.db.models.functions import Cast, TruncHour

from integration.models import CallAttempt, Order, OutboundCall, TrendHour, TrendRollup

HOUR = timedelta(hours=1)
STALE = timedelta(minutes=15)  # a rollup that has not caught up for this long is not read (the charts go live)
OUTCOMES = ("ready", "open", "rejected", "cancelled", "failed")
ORDER_COLUMNS = [*OUTCOMES, "confirm_p50", "confirm_p90", "prep_p50", "prep_p90", "orders_at"]
CALL_COLUMNS = ["call_tries", "call_ok", "latency_p50", "latency_p90", "deliveries", "calls_at"]


class Percentile(Aggregate):
    """PostgreSQL's ``percentile_cont(f) WITHIN GROUP (ORDER BY expr)``."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass
class OrderHour:
    ready: int = 0
    open: int = 0
    rejected: int = 0
    cancelled: int = 0
    failed: int = 0
    confirm_p50: float | None = None  # seconds, submitted -> confirmed
    confirm_p90: float | None = None
    prep_p50: float | None = None  # seconds, confirmed -> ready
    prep_p90: float | None = None


@dataclass
class CallHour:
    call_tries: int = 0
    call_ok: int = 0
    latency_p50: float | None = None  # ms
    latency_p90: float | None = None
    deliveries: int = 0  # MP webhook deliveries through (2xx) in the hour


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def spans(hours: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Whole hours merged into [start, end) spans."""
    merged: list[list[datetime]] = []
    for hour in sorted(set(hours)):
        if merged and merged[-1][1] == hour:
            merged[-1][1] = hour + HOUR
        else:
            merged.append([hour, hour + HOUR])
    return [(start, end) for start, end in merged]


def within(field: str, hours: Iterable[datetime], since: datetime | None = None) -> Q:
    """``field`` in one of ``hours``, from ``since`` on: an OR of ranges and nothing else, so PostgreSQL
    reads each range from the field's index (with a separate ``>= since`` beside them it once walked the
    index from ``since`` and filtered a day of rows)."""
    ranges = [
        Q(**{f"{field}__gte": max(start, since) if since else start, f"{field}__lt": end})
        for start, end in spans(hours)
        if since is None or end > since
    ]
    return reduce(or_, ranges) if ranges else Q(pk__in=[])


def _seconds(value) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _quantiles(values: list[float], fractions=(0.5, 0.9)) -> list[float | None]:
    """percentile_cont's answer (linear interpolation between the closest ranks), in Python."""
    if not values:
        return [None] * len(fractions)
    cuts = statistics.quantiles(values if len(values) > 1 else values * 2, n=100, method="inclusive")
    return [cuts[round(f * 100) - 1] for f in fractions]


def _outcome(state: str) -> str:
    return "open" if state in Order.OPEN_STATES else state.lower()


def order_hour_stats(orders: QuerySet) -> dict[datetime, OrderHour]:
    """Per hour placed: orders by outcome, confirm and prep time p50/p90. One query."""
    orders = orders.annotate(hour=TruncHour("placed_at")).order_by()
    if connection.vendor != "postgresql":
        return _order_hour_stats_python(orders)
    duration = DurationField()
    confirm = ExpressionWrapper(F("confirmed_at") - F("submitted_at"), output_field=duration)
    prep = ExpressionWrapper(F("ready_at") - F("confirmed_at"), output_field=duration)
    confirmed = Q(confirmed_at__isnull=False, submitted_at__isnull=False)
    readied = Q(ready_at__isnull=False, confirmed_at__isnull=False)
    S = Order.State
    rows = orders.values("hour").annotate(
        ready=Count("pk", filter=Q(state=S.READY)),
        open=Count("pk", filter=Q(state__in=Order.OPEN_STATES)),
        rejected=Count("pk", filter=Q(state=S.REJECTED)),
        cancelled=Count("pk", filter=Q(state=S.CANCELLED)),
        failed=Count("pk", filter=Q(state=S.FAILED)),
        confirm_p50=Percentile(confirm, 0.5, filter=confirmed),
        confirm_p90=Percentile(confirm, 0.9, filter=confirmed),
        prep_p50=Percentile(prep, 0.5, filter=readied),
        prep_p90=Percentile(prep, 0.9, filter=readied),
    )
    stats = {}
    for row in rows:
        hour = row.pop("hour")
        fields: dict[str, Any] = {k: _seconds(v) if k.startswith(("confirm", "prep")) else v for k, v in row.items()}
        stats[hour] = OrderHour(**fields)
    return stats


def _order_hour_stats_python(orders: QuerySet) -> dict[datetime, OrderHour]:
    stats: dict[datetime, OrderHour] = defaultdict(OrderHour)
    confirm, prep = defaultdict(list), defaultdict(list)
    for hour, state, submitted, confirmed, ready in orders.values_list(
        "hour", "state", "submitted_at", "confirmed_at", "ready_at"
    ):
        key = _outcome(state)
        setattr(stats[hour], key, getattr(stats[hour], key) + 1)
        if confirmed and submitted:
            confirm[hour].append((confirmed - submitted).total_seconds())
        if ready and confirmed:
            prep[hour].append((ready - confirmed).total_seconds())
    for hour, row in stats.items():
        row.confirm_p50, row.confirm_p90 = _quantiles(confirm[hour])
        row.prep_p50, row.prep_p90 = _quantiles(prep[hour])
    return dict(stats)


def call_hour_stats(tries: QuerySet) -> dict[datetime, CallHour]:
    """Per hour started: our tries to Link, how many succeeded, latency p50/p90. One query."""
    tries = tries.annotate(hour=TruncHour("started_at")).order_by()
    ok = Q(outcome=CallAttempt.Outcome.SUCCESS)
    if connection.vendor != "postgresql":
        stats: dict[datetime, CallHour] = defaultdict(CallHour)
        latency = defaultdict(list)
        for hour, outcome, duration_ms in tries.values_list("hour", "outcome", "duration_ms"):
            stats[hour].call_tries += 1
            stats[hour].call_ok += outcome == CallAttempt.Outcome.SUCCESS
            latency[hour].append(float(duration_ms))
        for hour, row in stats.items():
            row.latency_p50, row.latency_p90 = _quantiles(latency[hour])
        return dict(stats)
    ms = Cast("duration_ms", FloatField())
    rows = tries.values("hour").annotate(
        call_tries=Count("pk"),
        call_ok=Count("pk", filter=ok),
        latency_p50=Percentile(ms, 0.5),
        latency_p90=Percentile(ms, 0.9),
    )
    return {row.pop("hour"): CallHour(**row) for row in rows}


def delivery_hour_counts(hours, since: datetime | None = None) -> dict[datetime, int]:
    """Per hour: MP webhook deliveries that went through (a 2xx try started in the hour). One query along the
    attempts' ``started_at`` index."""
    tries = CallAttempt.objects.filter(
        within("started_at", hours, since),
        call__kind=OutboundCall.Kind.DELIVER_EVENT,
        outcome=CallAttempt.Outcome.SUCCESS,
    )
    rows = tries.annotate(hour=TruncHour("started_at")).order_by().values("hour").annotate(n=Count("pk"))
    return {row["hour"]: row["n"] for row in rows}


def with_deliveries(stats: dict[datetime, CallHour], deliveries: dict[datetime, int]) -> dict[datetime, CallHour]:
    """The call hours with their deliveries (an hour with deliveries and no call to Link gets a row too)."""
    for hour, n in deliveries.items():
        stats.setdefault(hour, CallHour()).deliveries = n
    return stats


def changed_hours(seen: datetime, since: datetime, store=None) -> set[datetime]:
    """The hours (placed from ``since`` on) of the orders changed after ``seen``: one query on
    ``updated_at``'s index, as long as what changed since ``seen`` is little."""
    orders = Order.objects.filter(updated_at__gt=seen, placed_at__gte=since)
    if store is not None:
        orders = orders.filter(store=store)
    return set(orders.annotate(hour=TruncHour("placed_at")).order_by().values_list("hour", flat=True).distinct())


@dataclass
class Rolled:
    """What the charts may read from the rollup: rows by hour, and which hours' order and call columns hold."""

    rows: dict[datetime, TrendHour]
    order_hours: set[datetime]
    call_hours: set[datetime]
    state: TrendRollup | None


def rolled_up(hours: list[datetime], since: datetime, now: datetime) -> Rolled:
    """Three queries: the watermarks, the hours changed since the last run (computed live instead), the rows.
    A rollup whose changes watermark is older than ``STALE`` is not read at all (the changed hours' query
    would read every change since)."""
    state = TrendRollup.objects.filter(pk=1).first()
    fresh = state is not None and now - state.orders_seen <= STALE
    changed = changed_hours(state.orders_seen if fresh and state is not None else now, since)
    rows = {row.hour: row for row in TrendHour.objects.filter(hour__gte=min(hours), hour__lte=max(hours))}
    if not fresh or state is None:  # (not fresh when there is none)
        return Rolled(rows={}, order_hours=set(), call_hours=set(), state=state)
    # The first hour is cut by the range's start and the last one is still filling: both always live.
    covered = {hour for hour in hours[1:-1] if hour >= state.covered_from}
    return Rolled(
        rows=rows,
        order_hours={hour for hour in covered if hour not in changed},
        call_hours={hour for hour in covered if hour < state.calls_until},
        state=state,
    )

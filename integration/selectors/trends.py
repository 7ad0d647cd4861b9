"""Trends per hour for the charts: orders by outcome, reject and cancel rates, confirm and prep times, and
how our calls to Link fared.

Every store's chart reads the hourly rollup (``services.trends``) for the hours it holds and computes the
rest live from the orders and tries: the first hour (cut by the range's start), the current one, any hour
whose orders changed since the rollup last ran, and hours before it started; so it is exact and immediate.
One store's chart is computed live from that store's orders. Six queries for every store's chart (MP webhook
deliveries per second among them), two for one store's, whatever the number of orders."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from integration.models import CallAttempt, Order, Store, TrendRollup
from integration.selectors.trend_hours import (
    STALE,
    CallHour,
    OrderHour,
    call_hour_stats,
    delivery_hour_counts,
    order_hour_stats,
    rolled_up,
    within,
)
from integration.services.outbox.kinds import link_kinds

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
OUTCOMES = [  # stacked bottom to top
    ("READY", "ready"),
    ("OPEN", "still open"),
    ("REJECTED", "rejected"),
    ("CANCELLED", "cancelled"),
    ("FAILED", "failed (Link never took it)"),
]


@dataclass
class Trends:
    hours: list[datetime]
    orders: dict[str, list[int]] = field(default_factory=dict)  # outcome -> count per hour
    reject_rate: list[float | None] = field(default_factory=list)
    cancel_rate: list[float | None] = field(default_factory=list)
    confirm_p50: list[float | None] = field(default_factory=list)  # seconds, submitted -> confirmed
    confirm_p90: list[float | None] = field(default_factory=list)
    prep_p50: list[float | None] = field(default_factory=list)  # minutes, confirmed -> ready
    prep_p90: list[float | None] = field(default_factory=list)
    call_success: list[float | None] = field(default_factory=list)  # % of tries
    call_tries: list[int] = field(default_factory=list)
    latency_p50: list[float | None] = field(default_factory=list)  # ms
    latency_p90: list[float | None] = field(default_factory=list)
    deliveries_per_second: list[float | None] = field(default_factory=list)  # MP webhook deliveries through (2xx)
    live_hours: int = 0  # hours computed from the raw rows (the rest came from the rollup)
    rollup: TrendRollup | None = None
    rollup_stale: bool = False  # the rollup has not caught up for STALE: is the scheduler up?


def _hours(since: datetime, until: datetime) -> list[datetime]:
    start = since.replace(minute=0, second=0, microsecond=0)
    return [start + timedelta(hours=n) for n in range(int((until - start) / timedelta(hours=1)) + 1)]


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


def trends(range_key: str = "24h", store: Store | None = None, now: datetime | None = None) -> Trends:
    now = now or timezone.now()
    since = now - RANGES[range_key]
    hours = _hours(since, now)
    if store is None:
        rolled = rolled_up(hours, since, now)
        rows, order_hours, call_hours = rolled.rows, rolled.order_hours, rolled.call_hours
    else:
        rolled, rows, order_hours, call_hours = None, {}, set(), set()
    live_order_hours = [hour for hour in hours if hour not in order_hours]
    live_call_hours = [hour for hour in hours if hour not in call_hours]
    orders = Order.objects.filter(within("placed_at", live_order_hours, since))
    tries = CallAttempt.objects.filter(within("started_at", live_call_hours, since), call__kind__in=link_kinds())
    if store is not None:
        orders = orders.filter(store=store)
        tries = tries.filter(call__store=store)
    live_orders, live_calls = order_hour_stats(orders), call_hour_stats(tries)
    # Deliveries go to MP services, not to a store: every store's chart has them, one store's has none.
    live_deliveries = delivery_hour_counts(live_call_hours, since) if store is None else {}

    result = Trends(hours=hours, live_hours=len(hours) - len(order_hours), rollup=rolled.state if rolled else None)
    # Stale only when the rollup's changes watermark is old: on a fresh install it runs every minute but covers
    # only the hours since its first run, so every earlier hour is computed live, and that is no alarm.
    result.rollup_stale = bool(result.rollup and now - result.rollup.orders_seen > STALE)
    result.orders = {key: [] for key, _ in OUTCOMES}
    for hour in hours:
        o = rows[hour] if hour in order_hours and hour in rows else live_orders.get(hour, OrderHour())
        c = rows[hour] if hour in call_hours and hour in rows else live_calls.get(hour, CallHour())
        for key, _ in OUTCOMES:
            result.orders[key].append(getattr(o, key.lower()))
        done = o.ready + o.rejected + o.cancelled
        result.reject_rate.append(100 * o.rejected / done if done else None)
        result.cancel_rate.append(100 * o.cancelled / done if done else None)
        result.confirm_p50.append(o.confirm_p50)
        result.confirm_p90.append(o.confirm_p90)
        result.prep_p50.append(_minutes(o.prep_p50))
        result.prep_p90.append(_minutes(o.prep_p90))
        result.call_tries.append(c.call_tries)
        result.call_success.append(100 * c.call_ok / c.call_tries if c.call_tries else None)
        result.latency_p50.append(c.latency_p50)
        result.latency_p90.append(c.latency_p90)
        if store is not None:
            result.deliveries_per_second.append(None)
            continue
        delivered = c.deliveries if hour in call_hours and hour in rows else live_deliveries.get(hour, 0)
        seconds = min(3600.0, (now - max(hour, since)).total_seconds()) or 1.0  # the current hour: so far
        result.deliveries_per_second.append(delivered / seconds)
    return result

"""The hourly rollup of the trends charts' numbers (the figures themselves: ``selectors.trend_hours``).

``trends_rollup`` (a django-q2 schedule, every minute) and ``trends_backfill`` (``link_trends_backfill``)
store them per hour in ``TrendHour``:
- an hour's order columns are recomputed whenever one of its orders changes (``Order.updated_at``,
  indexed: the orders changed since ``TrendRollup.orders_seen`` name the hours to redo);
- an hour's call columns are computed once the hour is over and its tries are all recorded
  (``CALLS_SETTLE`` after it ends; a try is never changed, and later pruning keeps the figures).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from integration.models import CallAttempt, Order, TrendHour, TrendRollup
from integration.selectors.trend_hours import (
    CALL_COLUMNS,
    HOUR,
    ORDER_COLUMNS,
    call_hour_stats,
    changed_hours,
    delivery_hour_counts,
    floor_hour,
    order_hour_stats,
    with_deliveries,
    within,
)
from integration.services.outbox.kinds import link_kinds

LAG = timedelta(seconds=60)  # an order's change commits within this of its updated_at
MAX_HOURS_PER_RUN = 200  # more changed hours than this: the run leaves them to link_trends_backfill
CALLS_SETTLE = timedelta(minutes=5)  # every try of an hour is recorded this long after the hour ends


def _locked_state(now: datetime) -> TrendRollup:
    """The watermark row, locked for the rest of the transaction: rollup runs and backfill chunks take turns."""
    start = floor_hour(now)
    defaults = {"covered_from": start, "orders_seen": start, "calls_until": start}
    TrendRollup.objects.get_or_create(pk=1, defaults=defaults)
    return TrendRollup.objects.select_for_update().get(pk=1)


def _upsert(hours: Iterable[datetime], stats: dict, columns: list[str], now: datetime) -> int:
    stamp = columns[-1]  # orders_at / calls_at
    rows = [TrendHour(hour=hour, **vars(stats[hour]), **{stamp: now}) for hour in hours if hour in stats]
    TrendHour.objects.bulk_create(rows, update_conflicts=True, unique_fields=["hour"], update_fields=columns)
    return len(rows)


def _roll_orders(hours: set[datetime], now: datetime) -> int:
    if not hours:
        return 0
    return _upsert(hours, order_hour_stats(Order.objects.filter(within("placed_at", hours))), ORDER_COLUMNS, now)


def _roll_calls(hours: list[datetime], now: datetime) -> int:
    if not hours:
        return 0
    tries = CallAttempt.objects.filter(within("started_at", hours), call__kind__in=link_kinds())  # not MP deliveries
    stats = with_deliveries(call_hour_stats(tries), delivery_hour_counts(hours))  # MP deliveries' own column
    return _upsert(hours, stats, CALL_COLUMNS, now)


def _hours_between(start: datetime, end: datetime) -> list[datetime]:
    return [start + n * HOUR for n in range(max(0, int((end - start) / HOUR)))]


@dataclass
class RollupRun:
    order_hours: int  # hours whose order columns were recomputed
    call_hours: int  # hours whose call columns were computed
    behind: int = 0  # changed hours left for link_trends_backfill (more than one run takes)


def trends_rollup(now: datetime | None = None) -> RollupRun:
    """Roll up the hours whose orders changed since the last run and the hours whose tries are all in.
    Runs under the watermark row's lock; a first run starts the rollup at the current hour (older hours:
    ``trends_backfill``)."""
    now = now or timezone.now()
    with transaction.atomic():
        state = _locked_state(now)
        changed = changed_hours(state.orders_seen, state.covered_from)
        behind = len(changed) if len(changed) > MAX_HOURS_PER_RUN else 0
        order_hours = 0 if behind else _roll_orders(changed, now)
        call_hours = _hours_between(state.calls_until, floor_hour(now - CALLS_SETTLE))[:MAX_HOURS_PER_RUN]
        _roll_calls(call_hours, now)
        if call_hours:
            state.calls_until = call_hours[-1] + HOUR
        if not behind:  # else the charts stop reading the rollup once it is STALE
            state.orders_seen = max(state.orders_seen, now - LAG)
            state.ran_at = now
        state.save()
    return RollupRun(order_hours=order_hours, call_hours=len(call_hours), behind=behind)


@dataclass
class Backfill:
    since: datetime
    until: datetime
    hours: int
    orders: int = 0  # dry run: orders and tries the hours hold
    tries: int = 0


def trends_backfill(
    since: datetime,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    chunk_hours: int = 24,
    progress: Callable[[int, int], None] | None = None,
) -> Backfill:
    """Roll up every hour from ``since`` to now, ``chunk_hours`` at a time (each chunk one short transaction
    under the watermark lock), then extend the rollup's coverage back to ``since``. Changes made while it
    runs are picked up by the next ``trends_rollup``."""
    now = now or timezone.now()
    start, end, calls_end = floor_hour(since), floor_hour(now) + HOUR, floor_hour(now - CALLS_SETTLE)
    hours = _hours_between(start, end)
    result = Backfill(since=start, until=end, hours=len(hours))
    if dry_run:
        result.orders = Order.objects.filter(placed_at__gte=start, placed_at__lt=end).count()
        result.tries = CallAttempt.objects.filter(
            started_at__gte=start, started_at__lt=calls_end, call__kind__in=link_kinds()
        ).count()
        return result
    for first in range(0, len(hours), chunk_hours):
        chunk = hours[first : first + chunk_hours]
        with transaction.atomic():
            _locked_state(now)
            _roll_orders(set(chunk), now)
            _roll_calls([hour for hour in chunk if hour < calls_end], now)
        if progress:
            progress(len(chunk), len(hours))
    with transaction.atomic():
        state = _locked_state(now)
        state.calls_until = _calls_until(state.covered_from, state.calls_until, start, calls_end)
        # Every covered hour was just computed from what had changed by ``now`` (each chunk's statements
        # see at least that): later changes are redone by the next run.
        everything = start <= state.covered_from
        state.orders_seen = now - LAG if everything else min(state.orders_seen, now - LAG)
        state.covered_from = min(state.covered_from, start)
        state.ran_at = now if everything else state.ran_at or now
        state.save()
    return result


def _calls_until(covered_from: datetime, calls_until: datetime, start: datetime, calls_end: datetime) -> datetime:
    """The end of the call hours done without a gap from the new coverage's start, when the runs did
    [covered_from, calls_until) and the backfill [start, calls_end)."""
    if start <= covered_from:
        return max(calls_until, calls_end) if covered_from <= calls_end else calls_end
    return max(calls_until, calls_end) if calls_until >= start else calls_until

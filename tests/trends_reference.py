"""The trends charts as computed before the hourly rollup (issue 13): grouped queries and percentile_cont over
every order and try of the range. Kept as the tests' reference: the rollup plus the live hours must give exactly
this on the same data."""

import statistics
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, FloatField, Q, QuerySet
from django.db.models.functions import Cast, TruncHour
from django.utils import timezone

from integration.models import CallAttempt, Order, Store
from integration.selectors.trends import OUTCOMES, RANGES, Trends
from integration.services.outbox.kinds import link_kinds


class Percentile(Aggregate):
    """PostgreSQL's ``percentile_cont(f) WITHIN GROUP (ORDER BY expr)``."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def _hours(since: datetime, until: datetime) -> list[datetime]:
    start = since.replace(minute=0, second=0, microsecond=0)
    return [start + timedelta(hours=n) for n in range(int((until - start) / timedelta(hours=1)) + 1)]


def _percentiles(rows: QuerySet, value, fractions=(0.5, 0.9)) -> dict[datetime, list[float | None]]:
    """Per hour, the percentiles of ``value`` (seconds, a number): in SQL on PostgreSQL, else in Python."""
    if connection.vendor == "postgresql":
        grouped = (
            rows.order_by()
            .values("hour")
            .annotate(**{f"p{i}": Percentile(value, fraction) for i, fraction in enumerate(fractions)})
        )
        return {row["hour"]: [row[f"p{i}"] for i in range(len(fractions))] for row in grouped}
    values = defaultdict(list)
    for hour, number in rows.order_by().annotate(v=value).values_list("hour", "v"):
        values[hour].append(number.total_seconds() if isinstance(number, timedelta) else number)
    cuts = {  # quantiles() needs two values; one value is every percentile of itself
        hour: statistics.quantiles(numbers if len(numbers) > 1 else numbers * 2, n=100, method="inclusive")
        for hour, numbers in values.items()
    }
    return {hour: [cuts[hour][round(f * 100) - 1] for f in fractions] for hour in values}


def _seconds(value) -> float | None:
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def trends_by_grouped_queries(range_key: str = "24h", store: Store | None = None, now: datetime | None = None):
    """Four queries: orders by hour and outcome, confirm time, prep time, Link call tries."""
    now = now or timezone.now()
    since = now - RANGES[range_key]
    hours = _hours(since, now)
    result = Trends(hours=hours)
    orders = Order.objects.filter(placed_at__gte=since)
    tries = CallAttempt.objects.filter(started_at__gte=since, call__kind__in=link_kinds())  # MP deliveries: below
    if store is not None:
        orders = orders.filter(store=store)
        tries = tries.filter(call__store=store)
    orders = orders.annotate(hour=TruncHour("placed_at"))

    counts: dict[datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in orders.values("hour", "state").annotate(n=Count("pk")).order_by():
        outcome = "OPEN" if row["state"] in Order.OPEN_STATES else row["state"]
        counts[row["hour"]][outcome] += row["n"]
    result.orders = {key: [counts[hour][key] for hour in hours] for key, _ in OUTCOMES}
    for hour in hours:
        done = sum(n for key, n in counts[hour].items() if key not in ("OPEN", "FAILED"))
        result.reject_rate.append(100 * counts[hour]["REJECTED"] / done if done else None)
        result.cancel_rate.append(100 * counts[hour]["CANCELLED"] / done if done else None)

    duration = DurationField()
    confirm = _percentiles(
        orders.filter(confirmed_at__isnull=False, submitted_at__isnull=False),
        ExpressionWrapper(F("confirmed_at") - F("submitted_at"), output_field=duration),
    )
    prep = _percentiles(
        orders.filter(ready_at__isnull=False, confirmed_at__isnull=False),
        ExpressionWrapper(F("ready_at") - F("confirmed_at"), output_field=duration),
    )
    for hour in hours:
        p50, p90 = confirm.get(hour, (None, None))
        result.confirm_p50.append(_seconds(p50))
        result.confirm_p90.append(_seconds(p90))
        p50, p90 = prep.get(hour, (None, None))
        result.prep_p50.append(None if p50 is None else _seconds(p50) / 60)
        result.prep_p90.append(None if p90 is None else _seconds(p90) / 60)

    tries = tries.annotate(hour=TruncHour("started_at"))
    by_hour = {
        row["hour"]: row
        for row in tries.values("hour")
        .annotate(n=Count("pk"), ok=Count("pk", filter=Q(outcome=CallAttempt.Outcome.SUCCESS)))
        .order_by()
    }
    latency = _percentiles(tries, Cast("duration_ms", FloatField()))
    for hour in hours:
        row = by_hour.get(hour)
        result.call_tries.append(row["n"] if row else 0)
        result.call_success.append(100 * row["ok"] / row["n"] if row else None)
        p50, p90 = latency.get(hour, (None, None))
        result.latency_p50.append(p50)
        result.latency_p90.append(p90)

    delivered = (  # MP webhook deliveries through (2xx), per second of each hour (so far, for the current one)
        CallAttempt.objects.filter(
            started_at__gte=since, call__kind="deliver_event", outcome=CallAttempt.Outcome.SUCCESS
        )
        .annotate(hour=TruncHour("started_at"))
        .values("hour")
        .annotate(n=Count("pk"))
        .order_by()
    )
    per_hour = {row["hour"]: row["n"] for row in delivered}
    for hour in hours:
        seconds = min(3600.0, (now - max(hour, since)).total_seconds()) or 1.0
        result.deliveries_per_second.append(None if store is not None else per_hour.get(hour, 0) / seconds)
    return result

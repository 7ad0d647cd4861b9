"""Availability at size (issue 26): 5,000 stores and a year of state changes.

    BENCH=availability DATABASE_URL=postgres://localhost/linkbridge python -m tests.bench.run

Loads a scratch database (``linkbridge_bench_availability``) with ``INSERT ... SELECT generate_series``:
5,000 mapped stores in four time zones, each with a record starting a year ago and a 30-minute pause on
Link every other day (about 1.8 million changes), a 10-minute Link outage every week, and the per store-day
rollup for every finished day (seeded by SQL: its values are not what the bench checks; the unit tests show
the rollup equals the live computation). Then it times, through the API with a token, the one-store
92-day read and the all-stores week (ordered in SQL over the rollup, today's provisional rows written first
by the live rollup as each 30-second evaluation does; today computed exactly for the page's 100 stores), p50
and p95 of ``BENCH_AVAILABILITY_RUNS`` runs, with the query count of each run (the same on every run), the
live rollup of today for every store, and one nightly rollup of a day for every store. Target: p95 under
300 ms. ``BENCH_AVAILABILITY_DB`` names the scratch database (one per engineer on a shared machine);
``BENCH_AVAILABILITY_REUSE=1`` reuses it as the last run loaded it (migrated first).
"""

import gc
import os
import statistics
import time
from datetime import timedelta

STORES = int(os.environ.get("BENCH_AVAILABILITY_STORES", "5000"))
DAYS = int(os.environ.get("BENCH_AVAILABILITY_DAYS", "365"))
RUNS = int(os.environ.get("BENCH_AVAILABILITY_RUNS", "20"))
TARGET_MS = 300
ZONES = ("America/New_York", "America/Los_Angeles", "Europe/London", "UTC")


def load(stores: int = STORES, days: int = DAYS) -> None:
    from django.db import connection

    from integration.models import AvailabilityChange, AvailabilityDay, AvailabilityWatermark, LinkReachability, Store
    from integration.selectors.availability import link_api_host

    from .admin import _insert_series

    zones = "(ARRAY[" + ",".join(f"'{z}'" for z in ZONES) + "])[1 + mod(i, 4)]"
    _insert_series(
        Store,
        stores,
        {
            "venue_id": "'ven_av_' || lpad(i::text, 5, '0')",
            "external_store_id": "'sf_av_' || lpad(i::text, 5, '0')",
            "name": "'Availability store ' || i",
            "timezone": zones,
        },
    )
    store0 = Store.objects.order_by("pk").values_list("pk", flat=True).first()
    hours = (
        '[{"day": "MON", "open": "08:00", "close": "22:00"}, {"day": "TUE", "open": "08:00", "close": "22:00"}, '
        + (
            '{"day": "WED", "open": "08:00", "close": "22:00"}, {"day": "THU", "open": "08:00", "close": "22:00"}, '
            '{"day": "FRI", "open": "08:00", "close": "23:30"}, {"day": "SAT", "open": "10:00", "close": "01:00"}, '
            '{"day": "SUN", "open": "10:00", "close": "21:00"}]'
        )
    )
    params = {"store0": store0, "hours": hours, "days": days}
    start = "date_trunc('day', now()) - %(days)s * interval '1 day'"
    _insert_series(
        AvailabilityChange,
        stores,
        {"store_id": "%(store0)s + i - 1", "at": start, "cause": "''", "hours": "%(hours)s::jsonb"},
        params,
    )
    # Every other day, per store: paused on Link for 30 minutes around midday UTC.
    pairs = f"generate_series(0, {stores - 1}) AS s, generate_series(1, {days}) AS d, (VALUES (0), (1)) AS p(k)"
    at = (
        f"{start} + d * interval '1 day' + interval '12 hours' + mod(s, 240) * interval '1 minute'"
        " + k * interval '30 minutes'"
    )
    _insert_series(
        AvailabilityChange,
        0,
        {
            "store_id": "%(store0)s + s",
            "at": at,
            "cause": "CASE WHEN k = 0 THEN 'paused_on_link' ELSE '' END",
            "hours": "%(hours)s::jsonb",
            "detail": "CASE WHEN k = 0 THEN 'out of stock' ELSE '' END",
        },
        params,
        rows=f"{pairs} WHERE mod(s + d, 2) = 0",
    )
    host = {"host": link_api_host()}
    _insert_series(
        LinkReachability,
        2 * (days // 7),
        {
            "host": "%(host)s",
            "at": f"{start} + (i / 2) * interval '7 days' + mod(i, 2) * interval '10 minutes' + interval '19 hours'",
            "reachable": "mod(i, 2) = 1",
        },
        {**params, **host},
    )
    # The rollup for every finished day (values shaped like the record's; not what is measured).
    _insert_series(
        AvailabilityDay,
        0,
        {
            "store_id": "%(store0)s + s",
            "date": "(now() - d * interval '1 day')::date",
            "scheduled_seconds": "50400",
            "accepting_seconds": "CASE WHEN mod(s + d, 2) = 0 THEN 48600 ELSE 50400 END",
            "paused_on_link": "CASE WHEN mod(s + d, 2) = 0 THEN 1800 ELSE 0 END",
            "link_unreachable": "0",
        },
        params,
        rows=f"generate_series(0, {stores - 1}) AS s, generate_series(1, {days}) AS d",
    )
    _insert_series(
        AvailabilityWatermark,
        stores,
        {
            "store": "%(store0)s + i - 1",
            "through": "(now() - interval '1 day')::date",
            "has_state": "true",
            "cause": "''",
            "hours": "%(hours)s::jsonb",
        },
        params,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _timed(client, url: str, runs: int) -> tuple[list[float], list[int], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, counts = [], []
    status = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        status = response.status_code
        counts.append(len(queries))
    return times, counts, status


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def bench_availability() -> list[str]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from integration.models import AvailabilityChange, AvailabilityDay, AvailabilityWatermark
    from integration.services.availability.rollup import availability_rollup, availability_rollup_live

    from .admin import _database, migrated_scratch

    lines = []
    name = os.environ.get("BENCH_AVAILABILITY_DB", "linkbridge_bench_availability")  # one per engineer
    reuse = os.environ.get("BENCH_AVAILABILITY_REUSE") == "1"  # the last run's database, as it was loaded
    if reuse:
        import dj_database_url

        from tests.e2e.harness import database_url

        scratch = _database(database_url({**dj_database_url.parse(os.environ["DATABASE_URL"]), "NAME": name}))
    else:
        scratch = migrated_scratch(name)
    with scratch:
        t0 = time.perf_counter()
        if reuse:
            call_command("migrate", verbosity=0)  # a loaded database from before a new migration
        else:
            load()
        changes = AvailabilityChange.objects.count()
        lines.append(f"loaded {STORES} stores, {changes} changes over {DAYS} days in {time.perf_counter() - t0:.0f} s")
        user, _ = get_user_model().objects.get_or_create(username="bench-bi")
        client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
        today = timezone.now().date()
        runs = []
        for _ in range(3):  # what each 30-second alert evaluation does: today's provisional rows, every store
            t0 = time.perf_counter()
            rows = availability_rollup_live()
            runs.append(time.perf_counter() - t0)
        lines.append(f"live rollup (every 30 s): {rows} provisional store-days in {min(runs):.2f} to {max(runs):.2f} s")
        gc.collect()  # its garbage is the worker's, not the web process's: not collected inside the reads timed next
        one = f"/api/v1/stores/sf_av_00007/availability/?from={today - timedelta(days=91)}&to={today}"
        week = f"/api/v1/availability/?from={today - timedelta(days=6)}&to={today}&limit=100"
        past = f"/api/v1/availability/?from={today - timedelta(days=13)}&to={today - timedelta(days=7)}&limit=100"
        for label, url in (
            ("one store, 92 days", one),
            ("all stores, this week", week),
            ("all stores, last week", past),
        ):
            client.get(url)  # warm
            times, counts, status = _timed(client, url, RUNS)
            verdict = "ok" if _p95(times) < TARGET_MS else f"OVER {TARGET_MS} ms"
            lines.append(
                f"{label}: p50 {statistics.median(times):.0f} ms, p95 {_p95(times):.0f} ms ({verdict}); "
                f"queries {sorted(set(counts))}; HTTP {status}"
            )
        AvailabilityWatermark.objects.update(through=today - timedelta(days=2))
        AvailabilityDay.objects.filter(date=today - timedelta(days=1)).delete()
        t0 = time.perf_counter()
        written = availability_rollup()
        lines.append(f"nightly rollup: {written} store-days in {time.perf_counter() - t0:.1f} s")
    return lines

"""``BENCH=scale make bench``: every console page and API call at a year of a large marketplace (issue 16).

The database is ``linkbridge_bench_scale``, next to DATABASE_URL's (same server and user), seeded by
``tests/bench/scale_seed.py`` (10,000,000 orders by default, ``BENCH_SCALE_ORDERS``). Seeding takes a
long while, so a database already seeded at the asked size is reused (migrated to the code's newest
migrations first); ``BENCH_SCALE_RESEED=1`` seeds it again. Others may measure on it too: it stays
after the run, and its table ``bench_scale_seed`` says at what size and when it was seeded.

Measured through Django's test client (as ``tests/bench/admin.py``), each page ``BENCH_SCALE_RUNS``
times after a warm-up: p50 and p95 of the server time, and the query count (the same on every run).
Targets: p95 < 300 ms and a fixed query count; placing an order and applying a webhook within 20% of
their p50 on an empty database (measured here too, in ``linkbridge_bench_scale_empty``).
"""

import logging
import os
import time
from contextlib import contextmanager
from datetime import timedelta

import dj_database_url
import psycopg

from tests.e2e.harness import database_url

from .scale_seed import ORDERS

# Another size (while developing) gets a database of its own, so it never replaces the 10 M one.
DB_NAME = "linkbridge_bench_scale" + ("" if ORDERS == 10_000_000 else f"_{ORDERS}")
EMPTY_NAME = "linkbridge_bench_scale_empty"


def _server(dbname: str = "postgres"):
    cfg = dj_database_url.parse(os.environ["DATABASE_URL"])
    conn = psycopg.connect(
        dbname=dbname, user=cfg["USER"] or None, host=cfg["HOST"] or None, port=cfg["PORT"] or None, autocommit=True
    )
    return cfg, conn


def _seeded() -> tuple[int, float] | None:
    """How many orders ``DB_NAME`` was seeded with, in how many seconds; None when it does not exist or its
    seeding did not finish."""
    _, conn = _server()
    with conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            return None
    _, conn = _server(DB_NAME)
    with conn:
        if not conn.execute("SELECT to_regclass('bench_scale_seed')").fetchone()[0]:
            return None
        return conn.execute("SELECT orders, seconds FROM bench_scale_seed ORDER BY seeded_at DESC LIMIT 1").fetchone()


@contextmanager
def scale_database(lines: list[str]):
    """The seeded database as Django's default connection (seeded first, unless one of the size is there)."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from integration.services.ops.trends import trends_backfill, trends_rollup

    from .admin import _database
    from .common import scratch_database
    from .scale_seed import seed

    def log(line: str) -> None:
        print(f"   {line}", flush=True)
        lines.append(line)

    cfg, _ = _server()
    url = database_url({**cfg, "NAME": DB_NAME})
    seeded = None if os.environ.get("BENCH_SCALE_RESEED") == "1" else _seeded()
    reuse = seeded is not None and seeded[0] == ORDERS
    if not reuse:
        url = scratch_database(DB_NAME)
    with _database(url):
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        migrated = time.perf_counter() - started
        if reuse:
            log(
                f"reused {DB_NAME}, seeded earlier with {ORDERS:,} orders in {seeded[1]:.0f} s "
                f"(migrations to apply now: {migrated:.1f} s)"
            )
        else:
            seconds = seed(log)
            with connection.cursor() as cursor:
                cursor.execute("CREATE TABLE bench_scale_seed (orders bigint, seconds float, seeded_at timestamptz)")
                cursor.execute("INSERT INTO bench_scale_seed VALUES (%s, %s, now())", [ORDERS, seconds])
            log(f"seeded {DB_NAME} with {ORDERS:,} orders in {seconds:.0f} s")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            log(f"database size {cursor.fetchone()[0]}")
        started = time.perf_counter()  # the charts read the hourly rollup, which the every-minute job keeps
        rolled = trends_backfill(timezone.now() - timedelta(days=8))
        log(f"trends rollup: the last {rolled.hours} hours backfilled in {time.perf_counter() - started:.1f} s")
        # The every-minute job's run: a backfill of a database the rollup already covered leaves its changes
        # watermark where it was, and a watermark older than trends.STALE sends the charts live.
        run = trends_rollup()
        log(f"trends rollup job run: {run.order_hours} order hours, {run.call_hours} call hours, {run.behind} behind")
        yield url


RUNS = int(os.environ.get("BENCH_SCALE_RUNS", "15"))
TARGET_MS = 300


def measure(client, url: str, runs: int = RUNS) -> dict:
    """Server time (p50, p95 over ``runs`` after a warm-up) and queries (each run's count) of GET ``url``."""
    from .admin import _measure

    r = _measure(client, url, runs=runs)
    return {**r, "ok": r["p95_ms"] < TARGET_MS and len(r["queries"]) == 1}


def line(name: str, r: dict) -> str:
    queries = "/".join(str(q) for q in r["queries"])
    verdict = "met" if r["ok"] else "NOT met"
    return (
        f"{name:<40} p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  SQL {r['sql_ms']:6.1f} ms  "
        f"{queries:>3} queries  (p95 < {TARGET_MS} ms, fixed queries: {verdict})"
    )


def _cursor(at, pk: int) -> str:
    from urllib.parse import quote

    return quote(f"{at.isoformat()}~{pk}")


def _samples() -> dict:
    """Rows to look up: an order from the middle of the year, its customer, its store, its event and call."""
    from integration.models import Order, OutboundCall, WebhookEvent

    middle = Order.objects.filter(pk__gte=ORDERS // 2, state=Order.State.READY).order_by("pk").first()
    _, last = middle.customer_name.split(" ", 1)
    return {
        "order": middle,
        "last_part": last[1:5].lower(),  # part of a last name: about 1 in 1,000 customers
        "name": middle.customer_name,
        "phone": middle.customer_phone.replace("+", "%2B"),
        "store": middle.store_id,
        "day": (middle.placed_at.date()).isoformat(),
        "event_cursor": _cursor(
            *WebhookEvent.objects.filter(pk__gte=ORDERS).order_by("pk").values_list("received_at", "pk")[0]
        ),
        "call_cursor": _cursor(
            *OutboundCall.objects.filter(pk__gte=ORDERS // 2).order_by("pk").values_list("created_at", "pk")[0]
        ),
    }


def pages(s: dict) -> list[tuple[str, str]]:
    order = s["order"]
    orders = "/admin/integration/order/"
    return [
        ("dashboard (admin index, Link health)", "/admin/"),
        ("dashboard live part (htmx)", "/admin/live/"),
        ("order board", "/admin/board/"),
        ("order board, one store", f"/admin/board/?store={s['store']}"),
        ("order list, first page", orders),
        ("order list, state=FAILED", f"{orders}?state__exact=FAILED"),
        ("order list, one store", f"{orders}?store__id__exact={s['store']}"),
        ("order list, one day", f"{orders}?placed_at__gte={s['day']}T00:00:00Z&placed_at__lt={s['day']}T23:59:59Z"),
        ("order list, overdue (card)", f"{orders}?attention=overdue"),
        ("order list, cancel requested", f"{orders}?cancel=requested"),
        ("order list, older page (mid-year cursor)", f"{orders}?older={_cursor(order.placed_at, order.pk)}"),
        (
            "order list, state=FAILED, older page",
            f"{orders}?state__exact=FAILED&older={_cursor(order.placed_at, order.pk)}",
        ),
        ("order search, display code", f"{orders}?q={order.display_code}"),
        ("order search, external id", f"{orders}?q={order.external_order_id}"),
        ("order search, phone", f"{orders}?q={s['phone']}"),
        ("order search, full name", f"{orders}?q={s['name'].replace(' ', '+')}"),
        ("order search, part of a last name", f"{orders}?q={s['last_part']}"),
        ("order page (timeline)", f"{orders}{order.pk}/change/"),
        ("charts, 24 h", "/admin/trends/"),
        ("charts, 7 days", "/admin/trends/?range=7d"),
        ("charts, 7 days, one store", f"/admin/trends/?range=7d&store={s['store']}"),
        ("webhook event list", "/admin/integration/webhookevent/"),
        ("webhook events, failed (card)", "/admin/integration/webhookevent/?attention=failed"),
        ("webhook events, status=IGNORED", "/admin/integration/webhookevent/?status__exact=IGNORED"),
        ("webhook events, type=order.ready", "/admin/integration/webhookevent/?type=order.ready"),
        ("webhook events, search order id", f"/admin/integration/webhookevent/?q={order.external_order_id}"),
        ("webhook events, older page (mid-year)", f"/admin/integration/webhookevent/?older={s['event_cursor']}"),
        ("outbound call list", "/admin/integration/outboundcall/"),
        ("outbound calls, failed (card)", "/admin/integration/outboundcall/?attention=failed"),
        ("outbound calls, status=FAILED", "/admin/integration/outboundcall/?status__exact=FAILED"),
        ("outbound calls, kind=submit_order", "/admin/integration/outboundcall/?kind__exact=submit_order"),
        ("outbound calls, held (circuit)", "/admin/integration/outboundcall/?waiting=held"),
        ("outbound calls, older page (mid-year)", f"/admin/integration/outboundcall/?older={s['call_cursor']}"),
        ("store list", "/admin/integration/store/"),
    ]


def api_page(s: dict) -> str:
    return f"/api/v1/orders/{s['order'].external_order_id}/"


def feed_pages(log) -> list[tuple[str, str]]:
    """The event feed as the bench's API client follows it: from the start of the week it keeps, from the
    middle of it, and near its end (a consumer keeping up). Seeds the week's events first when absent."""
    from django.contrib.auth import get_user_model

    from integration.models import NotificationEvent
    from integration.services.mp_events.feed import feed_cursor

    from .scale_seed import FEED_PREFIX, seed_feed

    seeded = NotificationEvent.objects.filter(event_id__startswith=FEED_PREFIX)
    if not seeded.exists():
        started = time.perf_counter()
        n = seed_feed(get_user_model().objects.get(username="bench-scale").pk)
        log(f"feed: seeded {n:,} events (a week of this marketplace's) in {time.perf_counter() - started:.0f} s")
    newest = seeded.order_by("-txid", "-id").values_list("txid", flat=True)[0]
    mid, tail = (seeded.filter(txid__gte=t).order_by("txid", "id").first() for t in (newest // 2, newest - 50))
    feed = "/api/v1/events/"
    return [
        ("event feed, from the start of the week", feed),
        ("event feed, from mid-week", f"{feed}?after={feed_cursor(mid)}"),
        ("event feed, 500 from mid-week", f"{feed}?after={feed_cursor(mid)}&limit=500"),
        ("event feed, its newest (keeping up)", f"{feed}?after={feed_cursor(tail)}"),
    ]


def bench_scale() -> list[str]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from .scale_flows import _api_client, flows
    from .webhooks import webhook_figures

    logging.disable(logging.INFO)  # each placed order logs a line
    lines: list[str] = []

    def note(text: str) -> None:  # this section prints as it goes; run.py prints only what it returns
        print(f"   {text}", flush=True)
        lines.append(text)

    note(f"load average at the start: {os.getloadavg()[0]:.1f}")
    with scale_database(lines) as url:
        user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"is_superuser": True})
        user.is_staff = user.is_superuser = True
        user.save()
        client = Client()
        client.force_login(user)
        s = _samples()
        misses = []
        api = _api_client()
        api_pages = [("GET /api/v1/orders/{id}/", api_page(s)), *feed_pages(note)]
        for name, page, who in [(n, p, client) for n, p in pages(s)] + [(n, p, api) for n, p in api_pages]:
            r = measure(who, page)
            note(line(name, r))
            if not r["ok"]:
                misses.append(name)
        shown = len(lines)
        lines.append(
            f"p95 < {TARGET_MS} ms with a fixed query count: "
            + (f"NOT met by {', '.join(misses)}" if misses else "met by every page")
        )
        lines += flows(url)
    if os.environ.get("BENCH_SCALE_WEBHOOKS", "1") == "1":
        lines.append(f"webhook ingest at this size ({DB_NAME}; updates the seeded stores ven_000..ven_199):")
        lines += webhook_figures(url, migrate=False)
    lines.append(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return lines[shown:]

"""The ops console at size: 100,000 orders across 500 stores (with a submit call and an event each).

    DATABASE_URL=postgres://localhost/linkbridge python -m tests.bench.admin

``bench_admin()`` loads a scratch database (``linkbridge_bench_admin``, next to DATABASE_URL's) with
``INSERT ... SELECT generate_series`` and measures, through Django's test client as a logged-in
superuser, each page's server time (median and worst of several runs), the time spent in SQL and
the query count. Target: every page's median under 300 ms (the worst run is shown, not judged: a
busy machine makes it noisy), with the same query count on every run.
"""

import os
import statistics
import time
from contextlib import contextmanager
from datetime import timedelta

import dj_database_url

ORDERS = int(os.environ.get("BENCH_ADMIN_ORDERS", "100000"))
STORES = int(os.environ.get("BENCH_ADMIN_STORES", "500"))
RUNS = int(os.environ.get("BENCH_ADMIN_RUNS", "7"))
TARGET_MS = 300


@contextmanager
def _database(url: str):
    """Point Django's default connection at ``url`` for the duration."""
    from django.db import connection

    saved = dict(connection.settings_dict)
    connection.close()
    parsed = dj_database_url.parse(url)
    connection.settings_dict.update({k: parsed[k] for k in ("NAME", "USER", "PASSWORD", "HOST", "PORT")})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@contextmanager
def migrated_scratch(name: str):
    """A fresh scratch database ``name``, migrated, as Django's default connection for the duration."""
    from django.core.management import call_command

    from .common import scratch_database

    with _database(scratch_database(name)):
        call_command("migrate", verbosity=0)
        yield


def _insert_series(model, n: int, sql: dict[str, str], params: dict | None = None, rows: str | None = None) -> None:
    """INSERT ``n`` rows of ``model`` in one statement: ``sql`` gives a field's (or column's)
    expression over ``i`` (1..n), or over the columns of ``rows`` (a FROM clause, instead of the series);
    every other column takes the field's default (or NULL), so new fields with a default need no change
    here. The primary key is left to its sequence unless ``sql`` names it."""
    from django.db import connection

    columns, values, args = [], [], dict(params or {})
    for field in model._meta.concrete_fields:
        if field.primary_key and field.name not in sql:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in sql or field.column in sql:
            values.append(sql.get(field.name) or sql[field.column])
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            values.append("now()")
        elif field.has_default() or not field.null:  # no default on a NOT NULL string: ""
            args[field.column] = field.get_db_prep_save(field.get_default(), connection)
            values.append(f"%({field.column})s")
        else:
            values.append("NULL")
    table = connection.ops.quote_name(model._meta.db_table)
    rows = rows or f"generate_series(1, {n}) AS i"
    statement = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {rows}"
    with connection.cursor() as cursor:
        cursor.execute(statement, args)


STATE_SQL = """CASE
    WHEN mod(i, 100) < 70 THEN 'READY' WHEN mod(i, 100) < 80 THEN 'CANCELLED' WHEN mod(i, 100) < 88 THEN 'REJECTED'
    WHEN mod(i, 100) < 94 THEN 'CONFIRMED' WHEN mod(i, 100) < 97 THEN 'IN_PREP' WHEN mod(i, 100) < 99 THEN 'FAILED'
    ELSE 'PENDING' END"""


def load(orders: int = ORDERS, stores: int = STORES) -> None:
    """Stores (a quarter unmapped, a tenth paused), menus (some broken), orders in every state
    over the last weeks, one submit call (with its try) and one event per order."""
    from django.db import connection

    from integration.models import CallAttempt, Menu, Order, OutboundCall, Store, WebhookEvent

    now = "now()"
    _insert_series(
        Store,
        stores,
        {
            "venue_id": "'ven_bench_' || lpad(i::text, 4, '0')",
            "external_store_id": "CASE WHEN mod(i, 4) <> 0 THEN 'sf_bench_' || lpad(i::text, 4, '0') END",
            "name": "'Bench store ' || i",
            "state": "CASE WHEN mod(i, 10) = 1 THEN 'PAUSED' WHEN mod(i, 50) = 2 THEN 'DISCONNECTED' ELSE 'ACTIVE' END",
            "pause_source": "CASE WHEN mod(i, 10) = 1 THEN 'LINK' ELSE '' END",
            "pause_reason": "CASE WHEN mod(i, 10) = 1 THEN 'storm' ELSE '' END",
            "paused_at": f"CASE WHEN mod(i, 10) = 1 THEN {now} END",
        },
    )
    first_store = Store.objects.order_by("pk").values_list("pk", flat=True).first()
    params = {"store0": first_store, "stores": stores}
    _insert_series(
        Menu,
        stores,
        {
            "store_id": "%(store0)s + i - 1",
            "menu_id": "'men_bench_' || i",
            "version": "1",
            "state": "'PUBLISHED'",
            "last_error": "CASE WHEN mod(i, 25) = 0 THEN 'fetching the menu failed: 503' ELSE '' END",
            "last_error_at": f"CASE WHEN mod(i, 25) = 0 THEN {now} END",
        },
        params,
    )
    placed = f"{now} - i * interval '25 seconds'"
    confirmed = f"{placed} + (5 + mod(i, 30)) * interval '1 second'"
    _insert_series(
        Order,
        orders,
        {
            "external_order_id": "'mp_bench_' || lpad(i::text, 7, '0')",
            "link_order_id": "CASE WHEN mod(i, 100) < 98 THEN 'ord_bench_' || i END",
            "display_code": "upper(substr(md5(i::text), 1, 6))",
            "store_id": "%(store0)s + mod(i, %(stores)s)",
            "state": STATE_SQL,
            "customer_name": "'Bench customer'",
            "customer_phone": "'+1555' || lpad(i::text, 7, '0')",
            "subtotal": "1000 + mod(i, 4000)",
            "total": "1100 + mod(i, 4000)",
            "placed_at": placed,
            "submitted_at": f"CASE WHEN mod(i, 100) < 98 THEN {placed} + interval '1 second' END",
            "confirmed_at": f"CASE WHEN mod(i, 100) < 70 OR mod(i, 100) BETWEEN 88 AND 96 THEN {confirmed} END",
            "ready_at": f"CASE WHEN mod(i, 100) < 70 THEN {confirmed} + mod(i, 20) * interval '1 minute' END",
            "pending_since": f"CASE WHEN mod(i, 100) = 99 THEN {placed} END",
            "cancel_requested_at": f"CASE WHEN mod(i, 100) BETWEEN 70 AND 79 OR mod(i, 1000) = 5 THEN {placed} END",
            "cancel_refused_at": f"CASE WHEN mod(i, 1000) = 5 THEN {placed} END",
            "cancel_reason_code": "CASE WHEN mod(i, 100) BETWEEN 70 AND 79 THEN 'UNACCEPTED' ELSE '' END",
            "updated_at": now,
        },
        params,
    )
    first_order = Order.objects.order_by("pk").values_list("pk", flat=True).first()
    params["order0"] = first_order
    _insert_series(
        OutboundCall,
        orders,
        {
            "kind": "'submit_order'",
            "method": "'POST'",
            "path": "'/v2/orders'",
            "idempotency_key": "'mp_bench_' || lpad(i::text, 7, '0')",
            "status": "CASE WHEN mod(i, 100) = 97 THEN 'FAILED' ELSE 'SUCCEEDED' END",
            "attempts": "1",
            "next_attempt_at": placed,
            "deadline": f"{placed} + interval '5 minutes'",
            "order_id": "%(order0)s + i - 1",
            "store_id": "%(store0)s + mod(i, %(stores)s)",
            "created_at": placed,
            "updated_at": placed,
            "completed_at": placed,
        },
        params,
    )
    first_call = OutboundCall.objects.order_by("pk").values_list("pk", flat=True).first()
    params["call0"] = first_call
    _insert_series(
        CallAttempt,
        orders,
        {
            "call_id": "%(call0)s + i - 1",
            "number": "1",
            "started_at": placed,
            "duration_ms": "40 + mod(i * 7, 300)",
            "request_method": "'POST'",
            "request_url": "'/v2/orders'",
            "status_code": "CASE WHEN mod(i, 100) = 97 THEN 503 ELSE 201 END",
            "outcome": "CASE WHEN mod(i, 100) = 97 THEN 'retriable' ELSE 'success' END",
        },
        params,
    )
    _insert_series(
        WebhookEvent,
        orders,
        {
            "event_id": "'evt_bench_' || i",
            "type": "'order.confirmed'",
            "venue_id": "'ven_bench_' || lpad((1 + mod(i, %(stores)s))::text, 4, '0')",
            "external_order_id": "'mp_bench_' || lpad(i::text, 7, '0')",
            "body": "'{}'",
            "status": "CASE WHEN mod(i, 5000) = 1 THEN 'FAILED' ELSE 'PROCESSED' END",
            "received_at": placed,
        },
        params,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _measure(client, url: str, runs: int = RUNS) -> dict:
    from django.db import connection

    counter = {"n": 0, "sql_s": 0.0}

    def wrapper(execute, sql, params, many, context):
        counter["n"] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            counter["sql_s"] += time.perf_counter() - started

    assert client.get(url).status_code == 200, url  # warm: templates, plans, caches
    times, queries, sql = [], set(), []
    for _ in range(runs):
        counter.update(n=0, sql_s=0.0)
        with connection.execute_wrapper(wrapper):
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        queries.add(counter["n"])
        sql.append(counter["sql_s"])
    ordered = sorted(times)
    return {
        "p50_ms": statistics.median(times) * 1000,
        "p95_ms": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000,
        "max_ms": max(times) * 1000,
        "sql_ms": statistics.median(sql) * 1000,
        "queries": sorted(queries),
    }


def bench_admin() -> list[str]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from integration.models import Order, Store
    from integration.services.ops.trends import trends_backfill

    lines = []
    with migrated_scratch("linkbridge_bench_admin"):
        started = time.perf_counter()
        load()
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        trends_backfill(timezone.now() - timedelta(days=8))  # as the every-minute rollup keeps it in production
        rolled = time.perf_counter() - started
        lines.append(
            f"loaded {Order.objects.count():,} orders (+ a submit call and an event each) across "
            f"{Store.objects.count()} stores in {loaded:.1f} s (charts' rollup backfilled in {rolled:.1f} s); "
            "PostgreSQL, Django test client, superuser"
        )
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")
        client = Client()
        client.force_login(user)
        some = Order.objects.filter(state="FAILED").order_by("pk").values_list("external_order_id", "customer_phone")
        external_id, phone = some[len(some) // 4]
        order_pk = Order.objects.get(external_order_id=external_id).pk
        store_pk = Store.objects.order_by("pk").values_list("pk", flat=True)[7]
        pages = [
            ("dashboard (admin index)", "/admin/"),
            ("order list", "/admin/integration/order/"),
            (f"order list, page {ORDERS // 200}", f"/admin/integration/order/?p={ORDERS // 200}"),
            ("order list, state=FAILED", "/admin/integration/order/?state__exact=FAILED"),
            ("order list, state=READY", "/admin/integration/order/?state__exact=READY"),
            ("order list, one store", f"/admin/integration/order/?store__id__exact={store_pk}"),
            ("order list, overdue (card)", "/admin/integration/order/?attention=overdue"),
            ("order list, cancel refused (card)", "/admin/integration/order/?attention=cancel_refused"),
            ("order list, cancel requested", "/admin/integration/order/?cancel=requested"),
            ("order search, external id", f"/admin/integration/order/?q={external_id}"),
            ("order search, phone", f"/admin/integration/order/?q={phone.replace('+', '%2B')}"),
            (
                "order search, phone + state",
                f"/admin/integration/order/?q={phone.replace('+', '%2B')}&state__exact=FAILED",
            ),
            ("order page (timeline)", f"/admin/integration/order/{order_pk}/change/"),
            ("store list", "/admin/integration/store/"),
            ("store list, unmapped (card)", "/admin/integration/store/?attention=unmapped"),
            ("store list, paused", "/admin/integration/store/?state__exact=PAUSED"),
            ("store search", "/admin/integration/store/?q=ven_bench_0042"),
            ("outbound call list", "/admin/integration/outboundcall/"),
            ("outbound calls, failed (card)", "/admin/integration/outboundcall/?attention=failed"),
            ("webhook event list", "/admin/integration/webhookevent/"),
            ("webhook events, failed (card)", "/admin/integration/webhookevent/?attention=failed"),
            ("menu list, failed (card)", "/admin/integration/menu/?attention=failed"),
            ("dashboard live part (Link health)", "/admin/live/"),
            ("order board", "/admin/board/"),
            ("order board, one store", f"/admin/board/?store={store_pk}"),
            ("charts, 24 h", "/admin/trends/"),
            ("charts, 7 days", "/admin/trends/?range=7d"),
            ("charts, 7 days, one store", f"/admin/trends/?range=7d&store={store_pk}"),
        ]
        over = []
        for name, page in pages:
            r = _measure(client, page)
            queries = "/".join(str(q) for q in r["queries"])
            lines.append(
                f"{name:<36} p50 {r['p50_ms']:6.1f} ms  max {r['max_ms']:6.1f} ms  "
                f"SQL {r['sql_ms']:5.1f} ms  {queries:>3} queries"
            )
            if r["p50_ms"] > TARGET_MS or len(r["queries"]) > 1:
                over.append(name)
        lines.append(
            f"target: every page's median < {TARGET_MS} ms, same query count each run: "
            + ("met" if not over else f"NOT met by {', '.join(over)}")
        )
    return lines


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkbridge.settings")
    os.environ.setdefault("LINKBRIDGE_DEMO", "1")  # dev secrets; the bench sets Link's values itself
    django.setup()
    for line in bench_admin():
        print(line, flush=True)

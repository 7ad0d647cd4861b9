"""A year of a large marketplace for ``BENCH=scale``: set-based SQL only (``INSERT ... SELECT generate_series``).

``BENCH_SCALE_ORDERS`` orders (default 10,000,000) over 365 days across 5,000 stores, 1-2 lines each, two
Link events each (20,000,000 at the default size) and one submit call each with its try (a second try for
one call in twenty). Every value is a function of the order's number ``i`` (1 is the oldest), hashed with
``hashint8extended``, so the tables agree with each other without a join and a reseed gives the same rows.

Orders placed in the last ``OPEN_MINUTES`` are open (a few hundred at 10 M); older ones are final, about
85% READY, 7% CANCELLED, 5% REJECTED and 3% FAILED, with one in 200,000 stuck PENDING. Customers
(``orders / 5`` of them) reorder: a name (60 first names x 1,024 last names) and a phone each.

The big tables are loaded without their indexes, keys and foreign keys, which are then created again
(each as the migrations define it), then VACUUM ANALYZE.
"""

import contextlib
import os
import time

ORDERS = int(os.environ.get("BENCH_SCALE_ORDERS", "10000000"))
STORES = int(os.environ.get("BENCH_SCALE_STORES", "5000"))
BATCH = 1_000_000
DAYS = 365
OPEN_MINUTES = 20
ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"  # the display codes' (models.order.new_display_code)
FIRST = str.split(
    "Ada Ben Cara Dev Eli Fay Gus Hana Ivan Jo Kai Lena Milo Nia Omar Pia Quinn Rosa Sam Tara Uma Vik Wen Xia Yara "
    "Zoe Ana Bruno Chen Dana Emil Farah Gita Hugo Ines Jae Kofi Lars Mei Nils Olga Pedro Rania Sven Tomas Ugo "
    "Vera Wade Yusuf Zara Aiko Bea Cyrus Dina Esme Femi Gael Hiro Iris Jon"
)
SYLLABLES = str.split(
    "ka mo ri ten sa lo vi da ne ko ru mi ba to shi ga fe lin dor ha je no pa qui rus sel tam ur val wen yo zi"
)  # 32 x 32 last names

# Per order: r (one hash for the state, store and the rest), c (the customer), the age in seconds,
# then placed_at, the state and the store.
ORDER_ROWS = """generate_series(%(lo)s, %(hi)s) AS i
CROSS JOIN LATERAL (SELECT abs(hashint8extended(i, 1)) AS r, mod(abs(hashint8extended(i, 2)), %(customers)s) AS c,
    (%(orders)s - i) * %(step)s + mod(abs(hashint8extended(i, 3)), %(jitter)s) AS age) a
CROSS JOIN LATERAL (SELECT %(now)s::timestamptz - a.age * interval '1 second' AS placed,
    1 + mod(a.r, %(stores)s) AS store,
    CASE WHEN a.age < %(open_s)s THEN (CASE WHEN mod(a.r, 100) < 50 THEN 'PENDING'
                                           WHEN mod(a.r, 100) < 75 THEN 'CONFIRMED' ELSE 'IN_PREP' END)
         WHEN mod(a.r, 200000) = 7 THEN 'PENDING'
         WHEN mod(a.r, 1000) < 850 THEN 'READY' WHEN mod(a.r, 1000) < 920 THEN 'CANCELLED'
         WHEN mod(a.r, 1000) < 970 THEN 'REJECTED' ELSE 'FAILED' END AS state) o"""

AT_LINK = "NOT (o.state = 'FAILED' OR (o.state = 'PENDING' AND mod(a.r, 100) < 10))"
EXTERNAL_ID = "'mp_' || lpad(to_hex(mod(a.r, 4294967296)), 8, '0') || lpad(to_hex(i), 8, '0')"
VENUE = "'ven_' || CASE WHEN {n} <= 1000 THEN lpad(({n} - 1)::text, 3, '0') ELSE ({n} - 1)::text END"


def _code(source: str) -> str:
    """Six characters of ALPHABET picked by successive bits of ``source`` (a bigint)."""
    picks = [f"substr('{ALPHABET}', 1 + mod({source} / {26**n}, 26)::int, 1)" for n in range(6)]
    return " || ".join(picks)


def _pick(words: list[str], index: str) -> str:
    return f"(ARRAY[{', '.join(repr(w) for w in words)}])[1 + mod({index}, {len(words)})::int]"


CUSTOMER_NAME = (
    f"{_pick(FIRST, 'a.c')} || ' ' || initcap({_pick(SYLLABLES, 'a.c / 60')} || {_pick(SYLLABLES, 'a.c / 1920')})"
)
CUSTOMER_PHONE = "'+1' || (200 + mod(a.c, 800))::text || lpad(mod(a.c * 7919, 10000000)::text, 7, '0')"


def _params(lo: int, hi: int, now) -> dict:
    step = DAYS * 86400 / ORDERS
    return {
        "lo": lo,
        "hi": hi,
        "orders": ORDERS,
        "step": step,
        "jitter": max(1, int(step)),
        "customers": max(1, ORDERS // 5),
        "now": now,
        "open_s": OPEN_MINUTES * 60,
        "stores": STORES,
    }


def _stores(now) -> None:
    from integration.models import Menu, Store

    from .admin import _insert_series

    zones = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix"]
    _insert_series(
        Store,
        STORES,
        {
            "id": "i",
            "venue_id": VENUE.format(n="i"),
            "external_store_id": "CASE WHEN mod(i, 25) <> 3 THEN 'sf_' || i END",
            "name": f"initcap({_pick(SYLLABLES, 'i * 7')} || {_pick(SYLLABLES, 'i / 3')}) || ' ' || "
            f"{_pick(['Grill', 'Burgers', 'Noodles', 'Tacos', 'Pizza', 'Kitchen', 'Sushi', 'Deli'], 'i')} || ' #' || i",
            "timezone": _pick(zones, "i"),
            "state": "CASE WHEN mod(i, 30) = 1 THEN 'PAUSED' WHEN mod(i, 100) = 2 THEN 'DISCONNECTED' "
            "ELSE 'ACTIVE' END",
            "pause_source": "CASE WHEN mod(i, 30) = 1 THEN 'LINK' ELSE '' END",
            "pause_reason": "CASE WHEN mod(i, 30) = 1 THEN 'busy' ELSE '' END",
            "paused_at": "CASE WHEN mod(i, 30) = 1 THEN %(now)s::timestamptz - mod(i, 90) * interval '1 minute' END",
            "connected_at": "%(now)s::timestamptz - interval '400 days'",
        },
        {"now": now},
    )
    _insert_series(
        Menu,
        STORES,
        {
            "store_id": "i",
            "menu_id": "'men_' || i",
            "version": "1 + mod(i, 7)",
            "state": "'PUBLISHED'",
            "last_error": "CASE WHEN mod(i, 500) = 0 THEN 'fetching the menu failed: 503' ELSE '' END",
            "last_error_at": "CASE WHEN mod(i, 500) = 0 THEN %(now)s::timestamptz END",
        },
        {"now": now},
    )


def _orders(params: dict) -> None:
    from integration.models import Order

    from .admin import _insert_series

    at_link = AT_LINK
    _insert_series(
        Order,
        0,
        {
            "id": "i",
            "external_order_id": EXTERNAL_ID,
            "link_order_id": f"CASE WHEN {at_link} THEN 'ord_' || lpad(to_hex(a.r / 4294967296), 8, '0') "
            "|| to_hex(i) END",
            "display_code": _code("a.r"),
            "store_id": "o.store",
            "state": "o.state",
            "customer_name": CUSTOMER_NAME,
            "customer_phone": CUSTOMER_PHONE,
            "fulfillment_type": "CASE WHEN mod(a.r, 3) = 0 THEN 'delivery' ELSE 'pickup' END",
            "subtotal": "800 + mod(a.r, 4000)",
            "tax": "70 + mod(a.r, 350)",
            "tip": "mod(a.r, 5) * 100",
            "total": "870 + mod(a.r, 4000) + mod(a.r, 350) + mod(a.r, 5) * 100",
            "placed_at": "o.placed",
            "pending_since": f"CASE WHEN o.state = 'PENDING' AND {at_link} THEN o.placed + interval '1 second' END",
            "submitted_at": f"CASE WHEN {at_link} THEN o.placed + interval '1 second' END",
            "confirmed_at": "CASE WHEN o.state IN ('CONFIRMED', 'IN_PREP', 'READY', 'CANCELLED') "
            "THEN o.placed + (5 + mod(a.r, 60)) * interval '1 second' END",
            "ready_at": "CASE WHEN o.state = 'READY' THEN o.placed + (8 + mod(a.r, 25)) * interval '1 minute' END",
            "closed_at": "CASE WHEN o.state IN ('READY', 'CANCELLED', 'REJECTED', 'FAILED') "
            "THEN o.placed + (8 + mod(a.r, 25)) * interval '1 minute' END",
            "prep_time_minutes": "CASE WHEN o.state <> 'PENDING' THEN 8 + mod(a.r, 25) END",
            "reason_code": "CASE WHEN o.state = 'REJECTED' THEN 'STORE_BUSY' ELSE '' END",
            "cancelled_by": "CASE WHEN o.state = 'CANCELLED' THEN 'LINK' ELSE '' END",
            "failure_reason": "CASE WHEN o.state = 'FAILED' THEN 'Link answered 422' ELSE '' END",
            "cancel_requested_at": "CASE WHEN mod(a.r, 1000) BETWEEN 920 AND 929 THEN o.placed END",
            "cancel_refused_at": "CASE WHEN mod(a.r, 20000) = 925 THEN o.placed END",
            "cancel_reason_code": "CASE WHEN mod(a.r, 1000) BETWEEN 920 AND 924 THEN 'UNACCEPTED' ELSE '' END",
            "updated_at": "o.placed + interval '30 minutes'",
        },
        params,
        rows=ORDER_ROWS,
    )


def _lines(params: dict) -> None:
    from integration.models import OrderLine

    from .admin import _insert_series

    items = ["Cheeseburger", "Fries", "Soda", "Ramen", "Taco", "Salad", "Pizza slice", "Dumplings"]
    _insert_series(
        OrderLine,
        0,
        {
            "order_id": "i",
            "position": "pos",
            "item_link_id": "'itm_' || mod(a.r / (pos * 7), 50)",
            "name": _pick(items, "a.r / (pos * 7)"),
            "quantity": "1 + mod(a.r / pos, 3)",
            "item_price": "400 + mod(a.r / pos, 1000)",
            "unit_price": "400 + mod(a.r / pos, 1000)",
            "line_total": "(1 + mod(a.r / pos, 3)) * (400 + mod(a.r / pos, 1000))",
            "modifiers": "'[]'",
        },
        params,
        rows=f"{ORDER_ROWS} CROSS JOIN LATERAL generate_series(1, 1 + mod(a.r, 2)::int) AS pos",
    )


def _events(params: dict) -> None:
    from integration.models import WebhookEvent

    from .admin import _insert_series

    kind = (
        "CASE WHEN k = 1 THEN 'order.confirmed' ELSE CASE o.state WHEN 'READY' THEN 'order.ready' "
        "WHEN 'CANCELLED' THEN 'order.cancelled' WHEN 'REJECTED' THEN 'order.rejected' ELSE 'order.preparing' END END"
    )
    received = "least(%(now)s::timestamptz, o.placed + k * (20 + mod(a.r, 900)) * interval '1 second')"
    _insert_series(
        WebhookEvent,
        0,
        {
            "event_id": "'evt_' || lpad(to_hex(mod(a.r / k, 4294967296)), 8, '0') || to_hex(i * 2 + k)",
            "type": kind,
            "venue_id": VENUE.format(n="o.store"),
            "external_order_id": EXTERNAL_ID,
            "created_at": received,
            "received_at": received,
            "headers": """'{"content-type": "application/json"}'""",
            "body": """'{"id": "evt_' || i || '_' || k || '", "data": {"external_order_id": "' || i || '"}}'""",
            "status": "CASE WHEN mod(a.r + k, 100000) = 3 THEN 'FAILED' "
            "WHEN mod(a.r + k, 50) = 1 THEN 'IGNORED' ELSE 'PROCESSED' END",
            "status_reason": "CASE WHEN mod(a.r + k, 50) = 1 THEN 'duplicate of an applied event' ELSE '' END",
            "error": "CASE WHEN mod(a.r + k, 100000) = 3 THEN 'KeyError: order_id' ELSE '' END",
            "attempts": "1",
            "processed_at": received,
        },
        params,
        rows=f"{ORDER_ROWS} CROSS JOIN generate_series(1, 2) AS k",
    )


def _calls(params: dict) -> None:
    from integration.models import CallAttempt, OutboundCall

    from .admin import _insert_series

    pending = "(o.state = 'PENDING' AND NOT " + AT_LINK + ")"
    _insert_series(
        OutboundCall,
        0,
        {
            "id": "i",
            "kind": "'submit_order'",
            "path": "'/v2/orders'",
            "idempotency_key": EXTERNAL_ID,
            "status": f"CASE WHEN {pending} THEN 'PENDING' WHEN o.state = 'FAILED' THEN 'FAILED' ELSE 'SUCCEEDED' END",
            "attempts": f"CASE WHEN {pending} THEN mod(a.r, 2) ELSE 1 + (mod(a.r, 20) = 0)::int END",
            "next_attempt_at": "o.placed",
            "deadline": "o.placed + interval '5 minutes'",
            "last_status_code": f"CASE WHEN {pending} THEN NULL WHEN o.state = 'FAILED' THEN 422 ELSE 201 END",
            "last_error": "CASE WHEN o.state = 'FAILED' THEN 'HTTP 422: item unavailable' ELSE '' END",
            "order_id": "i",
            "store_id": "o.store",
            "created_at": "o.placed",
            "updated_at": "o.placed + interval '1 second'",
            "completed_at": f"CASE WHEN NOT {pending} THEN o.placed + interval '1 second' END",
        },
        params,
        rows=ORDER_ROWS,
    )
    tries = f"{ORDER_ROWS} CROSS JOIN generate_series(1, 2) AS n"
    _insert_series(
        CallAttempt,
        0,
        {
            "call_id": "i",
            "number": "n",
            "started_at": "o.placed + (n - 1) * interval '2 seconds'",
            "duration_ms": "40 + mod(a.r / n, 400)",
            "request_method": "'POST'",
            "request_url": "'/v2/orders'",
            "status_code": "CASE WHEN n = 1 AND mod(a.r, 20) = 0 THEN 503 "
            "WHEN o.state = 'FAILED' THEN 422 ELSE 201 END",
            "outcome": "CASE WHEN n = 1 AND mod(a.r, 20) = 0 THEN 'retriable' "
            "WHEN o.state = 'FAILED' THEN 'permanent' ELSE 'success' END",
            "response_body": '\'{"order_id": "ord"}\'',
        },
        params,
        rows=f"{tries} WHERE n = 1 OR mod(a.r, 20) = 0",
    )


BIG = ("integration_order", "integration_orderline", "integration_webhookevent", "integration_outboundcall")
BIG += ("integration_callattempt",)


def _detach(cursor) -> list[str]:
    """Drop the big tables' foreign keys, indexes and keys; the SQL that makes them again, keys first."""
    tables = "ARRAY[" + ", ".join(f"'{t}'::regclass" for t in BIG) + "]"
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
        f"WHERE contype IN ('p', 'u', 'f') AND (conrelid = ANY({tables}) OR confrelid = ANY({tables})) "
        "ORDER BY contype = 'f', contype DESC"
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        f"WHERE indrelid = ANY({tables}) AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)"
    )
    indexes = cursor.fetchall()
    for table, name, _, _ in sorted(constraints, key=lambda c: c[3] != "f"):  # foreign keys first
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    keys = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, kind in constraints if kind != "f"]
    foreign = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, kind in constraints if kind == "f"]
    return keys + [definition for _, definition in indexes] + foreign


def _be_nice(pid: int) -> None:
    """The machine is shared: the PostgreSQL backend doing the load yields to others, as ``nice -n 10`` would."""
    with contextlib.suppress(OSError):  # another user's process, or a remote server: normal priority
        os.setpriority(os.PRIO_PROCESS, pid, 10)


def seed(log) -> float:
    """Load the current (migrated, empty) database; returns the seconds it took. ``log(line)`` reports progress."""
    from django.db import connection
    from django.utils import timezone

    started = time.perf_counter()
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        _be_nice(cursor.fetchone()[0])
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SET work_mem = '64MB'")
        _stores(now)
        remake = _detach(cursor)
    for lo in range(1, ORDERS + 1, BATCH):
        params = _params(lo, min(ORDERS, lo + BATCH - 1), now)
        for load in (_orders, _lines, _events, _calls):
            load(params)
        log(f"seeded orders {lo:,}..{params['hi']:,} ({time.perf_counter() - started:.0f} s)")
    with connection.cursor() as cursor:
        for table, n in (
            ("integration_store", STORES),
            ("integration_order", ORDERS),
            ("integration_outboundcall", ORDERS),
        ):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n})")
        for n, statement in enumerate(remake, 1):
            cursor.execute(statement)
            if n % 10 == 0:
                log(f"keys and indexes: {n} of {len(remake)} ({time.perf_counter() - started:.0f} s)")
        cursor.execute("SET synchronous_commit = on")
    connection.close()  # VACUUM runs outside a transaction block, on a fresh connection in autocommit
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


FEED_DAYS = 7  # RETAIN_MP_EVENT_DAYS' default: link_prune keeps a week of feed events
FEED_PREFIX = "evt_feed_"


def seed_feed(client_id: int) -> int:
    """A week of feed events: four for each order placed in it (``client_id``'s) and, for one order in 50,
    a store event every client sees; returns how many. Their transaction ids grow with the orders' and stay
    under the server's current one, so the feed's horizon passes them."""
    from django.db import connection

    from integration.models import NotificationEvent

    from .admin import _insert_series

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(id), max(id), pg_current_xact_id()::text::bigint FROM integration_order"
            " WHERE placed_at >= now() - %s * interval '1 day' AND id <= %s",  # not the flows' orders
            [FEED_DAYS, ORDERS],
        )
        first, last, xid = cursor.fetchone()
    params = {"first": first, "last": last, "scale": max(1, ((last - first) * 5 + 5) // (xid - 1000) + 1)}
    kinds = "(ARRAY['order.submitted', 'order.confirmed', 'order.preparing', 'order.ready'])[k]"
    common = {
        "txid": "1 + ((o.id - %(first)s) * 5 + k) / %(scale)s",
        "timestamp": "o.placed_at + k * interval '2 minutes'",
    }
    rows = "integration_order o CROSS JOIN generate_series(1, {k}) AS k WHERE o.id BETWEEN %(first)s AND %(last)s"
    _insert_series(
        NotificationEvent,
        0,
        {
            **common,
            "event_id": f"'{FEED_PREFIX}' || o.id || '_' || k",
            "type": kinds,
            "client": str(client_id),
            "order": "o.id",
            "store": "o.store_id",
            "sequence": "k",
            "data": """jsonb_build_object('id', o.external_order_id, 'state', o.state, 'store', o.store_id)""",
        },
        params,
        rows=rows.format(k=4),
    )
    _insert_series(
        NotificationEvent,
        0,
        {
            **common,
            "event_id": f"'{FEED_PREFIX}' || o.id || '_store'",
            "type": "'store.accepting_changed'",
            "store": "o.store_id",
            # What store_accepting_announce writes (and reads back: the last one's accepting and reason).
            "data": """jsonb_build_object(
                'store', jsonb_build_object('external_store_id', s.external_store_id, 'venue_id', s.venue_id,
                                            'name', s.name),
                'accepting', mod(o.id, 100) = 0,
                'reason', CASE WHEN mod(o.id, 100) = 0 THEN 'resumed' ELSE 'paused' END,
                'detail', CASE WHEN mod(o.id, 100) = 0 THEN '' ELSE 'paused: seeded' END)""",
        },
        {**params, "k": 5},
        rows=rows.format(k="%(k)s, %(k)s").replace(
            "integration_order o", "integration_order o JOIN integration_store s ON s.id = o.store_id", 1
        )
        + " AND mod(o.id, 50) = 0",
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE integration_notificationevent")
    return NotificationEvent.objects.filter(event_id__startswith=FEED_PREFIX).count()

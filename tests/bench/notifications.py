"""MP deliveries (issue 24): throughput to one endpoint from a backlog against a no-database floor, event ->
delivered paced, the same with slow and dripping endpoints among a hundred, and the database's cost per delivery.

One run prints, side by side:

- the floor: a plain concurrent httpx POST loop (its own process, ``MP_WEBHOOK_WINDOW_MAX`` in flight, the
  same signed bodies) to the same local receiver, no database;
- the sustained deliveries/s of the real stack (the deliveries' django-q2 cluster, its dispatchers) to one
  endpoint from a backlog of ``BENCH_DELIVERY_BACKLOG`` (20,000) events, and its ratio to the floor;
- event -> delivered p50/p99 paced at ``BENCH_PACED_RATE`` (100) events/s for ``BENCH_PACED_SECONDS`` (30; the
  issue's two minutes: ``BENCH_PACED_SECONDS=120``), one endpoint;
- the same spread over 100 endpoints of which 3 answer 2xx after 10 s and 1 drips its answer: the healthy
  endpoints' p50/p99;
- queries and commits per delivery, amortised, of a dispatcher run in this process (queries counted by
  Django, commits as PostgreSQL's ``xact_commit``: every transaction, autocommit statements included).
"""

import os
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta

import dj_database_url
import redis
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from dev.processes import ROOT
from dev.receiver import Answer, WebhookReceiver
from tests.dripper import Dripper
from tests.e2e.harness import Stack

from .common import scratch_database
from .orders import REDIS_URL

BACKLOG = int(os.environ.get("BENCH_DELIVERY_BACKLOG", "20000"))
PACED_RATE = float(os.environ.get("BENCH_PACED_RATE", "100"))
PACED_SECONDS = float(os.environ.get("BENCH_PACED_SECONDS", "30"))
FLOOR_POSTS = int(os.environ.get("BENCH_FLOOR_POSTS", "5000"))
COST_DELIVERIES = int(os.environ.get("BENCH_COST_DELIVERIES", "5000"))
STORE = {"store": {"external_store_id": "sf_bench", "venue_id": "ven_bench", "name": "Bench"}, "accepting": True}


# --- the floor: no database, its own process ------------------------------------------------------


def _floor(url: str, secret: str, concurrency: int) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.delivery_floor", url, secret, str(FLOOR_POSTS), str(concurrency)],
        cwd=ROOT,
        env={**os.environ},
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


# --- this process on the scratch database ---------------------------------------------------------


def _use_database(db_url: str) -> None:
    connections["default"].close()
    connections["default"].settings_dict.update(dj_database_url.parse(db_url))


def _client(name: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create(username=name)


def _endpoint(client, url: str):
    from integration.models import WebhookEndpoint
    from integration.services.mp_events.events import EVENT_TYPES

    return WebhookEndpoint.objects.create(client=client, url=url, event_types=list(EVENT_TYPES))


def _events_for(endpoints: list, count: int) -> None:
    """``count`` events, each delivered to one of ``endpoints`` in turn: the rows ``event_emit`` writes for an event
    one endpoint subscribes to (a store event fans out to every endpoint; here each goes to one)."""
    from integration.models import NotificationEvent
    from integration.services.mp_events.events import STORE_ACCEPTING_CHANGED, _transaction_id
    from integration.services.outbox.calls import call_create

    with transaction.atomic():
        txid = _transaction_id()
        for i in range(count):
            event = NotificationEvent.objects.create(
                type=STORE_ACCEPTING_CHANGED, txid=txid, timestamp=timezone.now(), data=STORE
            )
            ep = endpoints[i % len(endpoints)]
            call_create(kind="deliver_event", method="POST", path=ep.url, endpoint=ep, event=event)


def _backlog(endpoint, count: int) -> None:
    from integration.models import NotificationEvent, OutboundCall

    now = timezone.now()
    deadline = now + timedelta(seconds=settings.MP_WEBHOOK_DEADLINE)
    for start in range(0, count, 2000):
        n = min(2000, count - start)
        events = NotificationEvent.objects.bulk_create(
            [NotificationEvent(type="store.accepting_changed", timestamp=now, data=STORE) for _ in range(n)]
        )
        OutboundCall.objects.bulk_create(
            [
                OutboundCall(
                    kind="deliver_event",
                    method="POST",
                    path=endpoint.url,
                    endpoint=endpoint,
                    event=e,
                    next_attempt_at=now,
                    deadline=deadline,
                )
                for e in events
            ]
        )


def _pending() -> int:
    from integration.models import OutboundCall

    return OutboundCall.objects.filter(kind="deliver_event", status="PENDING").count()


def _kick(env: dict) -> None:
    """Ask the stack's deliveries cluster for a dispatcher (through its broker)."""
    code = "from integration.services.mp_events.deliveries import deliveries_kick; deliveries_kick(force=True)"
    subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env={**os.environ, **env}, check=True)


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def _paced(endpoints: list, seconds: float, stamps: dict, healthy_ids: set) -> list[float]:
    """Emit events at ``PACED_RATE``/s, each to the next endpoint in turn; event -> delivered of the healthy ones."""
    from integration.models import NotificationEvent

    interval = 1 / PACED_RATE
    since = timezone.now()
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        _events_for([endpoints[i % len(endpoints)]], 1)
        i += 1
        time.sleep(max(0.0, start + i * interval - time.perf_counter()))
    emitted = NotificationEvent.objects.filter(timestamp__gte=since, deliveries__endpoint_id__in=healthy_ids)
    wanted = {eid: at.timestamp() for eid, at in emitted.values_list("event_id", "timestamp")}
    deadline = time.time() + 60
    while time.time() < deadline and not all(eid in stamps for eid in wanted):
        time.sleep(0.5)
    return [stamps[eid] - at for eid, at in wanted.items() if eid in stamps]


def _cost(endpoint, count: int) -> tuple[float, float, int]:
    """Queries and commits per delivery of one dispatcher run in this process, over ``count`` deliveries."""
    from integration.models import OutboundCall
    from integration.services.mp_events.dispatch import deliveries_dispatch

    # The slow and dripping endpoints' retries would keep an until-idle run going (and polling): not this figure.
    OutboundCall.objects.filter(status="PENDING").exclude(endpoint=endpoint).update(status="SKIPPED")
    _backlog(endpoint, count)
    queries = [0]

    def counting(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    def commits() -> int:
        time.sleep(1.2)  # PostgreSQL flushes its transaction counts at most once a second
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
            return cursor.fetchone()[0]

    before = commits()
    with connection.execute_wrapper(counting):
        run = deliveries_dispatch(until_idle=True)
    after = commits() - 2  # the two statements of the first reading
    return queries[0] / max(1, run.delivered), (after - before) / max(1, run.delivered), run.delivered


def bench_notifications() -> list[str]:
    name = dj_database_url.parse(os.environ["DATABASE_URL"])["NAME"]
    db_url = scratch_database(f"{name}_bench_events")
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {"DATABASE_URL": db_url, "REDIS_URL": REDIS_URL}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env={**os.environ, **env}, check=True)
    _use_database(db_url)
    load_start = os.getloadavg()
    stamps: dict[str, float] = {}
    lock = threading.Lock()

    def stamp(delivery, answer):
        if 200 <= answer.status < 300:
            with lock:
                stamps.setdefault(delivery.webhook_id, time.time())

    receiver = WebhookReceiver(on_delivery=stamp).start()  # HTTP/1.0: faster here than its keep-alive mode
    slow = WebhookReceiver(respond=lambda d: Answer(204, delay=10)).start()
    dripper = Dripper(every=3.0)
    hosts = ",".join(u.split("/")[2] for u in (receiver.url, slow.url, dripper.url))
    settings.MP_WEBHOOK_HOSTS = hosts.split(",")
    concurrency = settings.MP_WEBHOOK_WINDOW_MAX
    lines = []
    try:
        one = _endpoint(_client("bench-one"), receiver.url)
        receiver.secrets = [one.secret]
        floor = _floor(receiver.url, one.secret, concurrency)

        _backlog(one, BACKLOG)
        stack = Stack(
            db_url, "bench-deliveries", webhooks=True, env={**env, "LOG_LEVEL": "WARNING", "MP_WEBHOOK_HOSTS": hosts}
        )
        stack.start()
        try:
            t0 = time.perf_counter()
            _kick(stack.group.env)
            marks = []
            while (left := _pending()) and time.perf_counter() - t0 < 600:
                marks.append((time.perf_counter(), BACKLOG - left))
                time.sleep(0.5)
            total = time.perf_counter() - t0
            lo = next(t for t, done in marks if done >= BACKLOG * 0.1)
            hi = next((t for t, done in marks if done >= BACKLOG * 0.9), marks[-1][0])
            sustained = (BACKLOG * 0.8) / max(0.001, hi - lo)

            paced = _paced([one], PACED_SECONDS, stamps, {one.pk})

            many = [one]
            clients = [_client(f"bench-{k}") for k in range(99)]
            many += [_endpoint(c, receiver.url) for c in clients[:95]]
            troubled = [_endpoint(c, slow.url) for c in clients[95:98]] + [_endpoint(clients[98], dripper.url)]
            secrets = [e.secret for e in many]
            receiver.secrets = secrets
            mixed = _paced(many + troubled, PACED_SECONDS, stamps, {e.pk for e in many})
            lag_behind = _pending()
        finally:
            stack.stop()
        queries, commits, measured = _cost(one, COST_DELIVERIES)
    finally:
        receiver.stop()
        slow.stop()
        dripper.close()
    load_end = os.getloadavg()
    lines.append(
        f"load average at start {load_start[0]:.2f} {load_start[1]:.2f}, at end {load_end[0]:.2f} {load_end[1]:.2f} "
        f"({os.cpu_count()} cores); receiver: dev.receiver (threaded, HTTP/1.0, verifies every signature)"
    )
    lines.append(f"floor: plain httpx POST loop, {concurrency} in flight, no database: {floor:.0f}/s")
    lines.append(
        f"one endpoint, {BACKLOG:,} backlog: sustained {sustained:.0f} deliveries/s (10%-90%), all in {total:.1f} s; "
        f"{sustained / floor:.2f}x the floor"
    )
    lines.append(
        f"paced {PACED_RATE:g} events/s for {PACED_SECONDS:g} s, one endpoint: event -> delivered p50 "
        f"{statistics.median(paced) * 1000:.0f} ms, p99 {_percentile(paced, 0.99) * 1000:.0f} ms ({len(paced)} events)"
    )
    lines.append(
        f"paced {PACED_RATE:g} events/s over 100 endpoints (3 answer 2xx after 10 s, 1 drips a byte every 3 s): "
        f"healthy endpoints' p50 {statistics.median(mixed) * 1000:.0f} ms, "
        f"p99 {_percentile(mixed, 0.99) * 1000:.0f} ms "
        f"({len(mixed)} events; {lag_behind} deliveries still pending, the troubled endpoints')"
    )
    lines.append(
        f"database per delivery, amortised over {measured:,} (one dispatcher run): {queries:.2f} queries, "
        f"{commits:.2f} commits"
    )
    return lines

"""Webhook endpoint throughput and latency beside a no-op endpoint on the same server.

Targets (issue 16): new events at >= 0.3x the no-op endpoint's throughput and >= 0.5x the store-only
floor's (the same request storing the event and applying nothing), p99 under 100 ms; on an empty
database here, and at the 10-million-order size in ``BENCH=scale`` (``webhook_figures`` on its database).
"""

import json
import os
import subprocess
import sys
import time
from functools import partial

from dev.processes import ROOT, ProcessGroup, free_port, wait_http, web_argv
from integration.link import signatures

from .common import Connection, CpuMeter, fmt, load, scratch_database

SECRET = "whsec-bench"
TOTAL = int(os.environ.get("BENCH_WEBHOOKS", "8000"))
TARGET_NOOP, TARGET_FLOOR, TARGET_P99_MS = 0.3, 0.5, 100
# 250,000 orders a day with about six Link events each (issue 16) is 17 events a second on average.
AVERAGE_RATE = 250_000 * 6 / 86_400
RATE = float(os.environ.get("BENCH_WEBHOOK_RATE", "150"))
PACED_SECONDS = 20


def event(i: int, tag: str = "") -> bytes:
    venue = f"ven_{i % 200:03d}"
    body = {
        "id": f"evt_bench{tag}_{i:07d}",
        "type": "store.connected",
        "created_at": "2026-11-27T12:00:00Z",
        "venue_id": venue,
        "data": {
            "name": f"Bench {venue}",
            "timezone": "America/New_York",
            "external_store_id": f"sf_{venue}",
            "address": {"line1": "1 Main", "city": "NYC", "region": "NY", "postal_code": "10001", "country": "US"},
        },
    }
    return json.dumps(body).encode()


def post(path: str, conn: Connection, i: int, offset: int = 0, tag: str = "") -> int:
    body = event(i + offset, tag)
    headers = {"Content-Type": "application/json", "Link-Signature": signatures.sign(body, SECRET)}
    return conn.post(path, body, headers)


def bench_webhooks() -> list[str]:
    db_url = scratch_database("linkbridge_bench_webhooks")
    return webhook_figures(db_url, migrate=True)


def webhook_figures(db_url: str, *, migrate: bool) -> list[str]:
    """The no-op endpoint, the store-only floor, new events and their duplicates against ``db_url``.

    The venues (``ven_000`` .. ``ven_199``) are the seeded stores of ``BENCH=scale``; on an empty database
    the first event of each creates its store. Event ids carry the run's time: a database kept between runs
    gets new events each time."""
    env = {"DATABASE_URL": db_url, "LINK_WEBHOOK_SECRETS": SECRET, "DEBUG": "0", "LOG_LEVEL": "WARNING"}
    env["DJANGO_SETTINGS_MODULE"] = "tests.bench.settings"
    if migrate:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env={**os.environ, **env}, check=True)
    port = free_port()
    group = ProcessGroup(env)
    workers, threads = (int(n) for n in os.environ.get("BENCH_GUNICORN", "2x4").split("x"))
    group.start("web", web_argv(port, workers=workers, threads=threads))
    base = f"http://127.0.0.1:{port}"
    tag = f"_{int(time.time())}"
    try:
        wait_http(f"{base}/healthz/", group=group)
        noop = partial(post, "/healthz/")
        webhook = partial(post, "/link/webhooks/", tag=tag)
        store_only = partial(post, "/bench/store-only/", offset=10_000_000, tag=tag)
        paced = partial(post, "/link/webhooks/", offset=20_000_000, tag=tag)
        load(noop, base, 300)
        pgid = group.procs["web"].popen.pid
        with CpuMeter(pgid) as noop_cpu:
            noop_r = load(noop, base, TOTAL)
        with CpuMeter(pgid) as floor_cpu:
            floor_r = load(store_only, base, TOTAL)
        with CpuMeter(pgid) as hook_cpu:
            hook_r = load(webhook, base, TOTAL)
        with CpuMeter(pgid) as dup_cpu:
            dup_r = load(webhook, base, TOTAL)  # the same events again, as Link's retries would send them
        paced_r = load(paced, base, int(RATE * PACED_SECONDS), rate=RATE)
    finally:
        group.stop()
    ratio, floor_ratio = hook_r["rps"] / noop_r["rps"], hook_r["rps"] / floor_r["rps"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    return [
        f"{TOTAL} signed store.connected events over 200 venues; 2 client processes x 6 threads; "
        f"gunicorn {workers} workers x {threads} threads; PostgreSQL. Each endpoint gets signed bodies alike.",
        fmt("no-op endpoint (/healthz/)", noop_r),
        f"    {noop_cpu.per_request_ms(TOTAL)}",
        fmt("store-only floor (no apply)", floor_r),
        f"    {floor_cpu.per_request_ms(TOTAL)}",
        fmt("webhook endpoint (new events)", hook_r),
        f"    {hook_cpu.per_request_ms(TOTAL)}",
        fmt("webhook endpoint (duplicates)", dup_r),
        f"    {dup_cpu.per_request_ms(TOTAL)}",
        f"new events / no-op throughput: {ratio:.2f} (target >= {TARGET_NOOP}): {verdict(ratio >= TARGET_NOOP)}",
        f"new events / store-only floor: {floor_ratio:.2f} (target >= {TARGET_FLOOR}): "
        f"{verdict(floor_ratio >= TARGET_FLOOR)}",
        fmt(f"new events paced at {RATE:.0f}/s", paced_r),
        f"new events p99 at {RATE:.0f} events/s, {RATE / AVERAGE_RATE:.0f}x the marketplace's average: "
        f"{paced_r['p99_ms']:.1f} ms (target < {TARGET_P99_MS} ms): {verdict(paced_r['p99_ms'] < TARGET_P99_MS)}",
        f"new events p99 flat out (12 in flight, {hook_r['rps']:.0f}/s): {hook_r['p99_ms']:.1f} ms "
        f"({'under' if hook_r['p99_ms'] < TARGET_P99_MS else 'over'} {TARGET_P99_MS} ms)",
    ]

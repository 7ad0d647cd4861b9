"""From ``POST /api/v1/orders/`` to the sandbox receiving ``POST /v2/orders``, with each broker."""

import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import redis

from dev.demo import MarketplaceClient, order_request_from_catalog
from dev.processes import ROOT
from tests.e2e.harness import Stack
from tests.waiting import wait_for

from .common import scratch_database

ORDERS = int(os.environ.get("BENCH_ORDERS", "200"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def _token(env: dict) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", "create_api_token", "bench"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def _run(broker: str) -> list[str]:
    db_url = scratch_database(f"linkbridge_bench_orders_{broker}")
    env = {"DATABASE_URL": db_url}
    if broker == "redis":
        redis.Redis.from_url(REDIS_URL).flushdb()
        env["REDIS_URL"] = REDIS_URL
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env={**os.environ, **env}, check=True)
    token = _token(env)
    stack = Stack(
        db_url,
        f"bench-orders-{broker}",
        web_workers=2,
        worker_processes=1,
        q_workers=4,
        sandbox_args=("--seed", "5", "--no-auto"),
        env={**env, "LOG_LEVEL": "WARNING"},
    )
    stack.start()
    try:
        sandbox = stack.sandbox
        for n in range(2):
            sandbox.connect_venue(f"ven_b{n}", name=f"Bench {n}", timezone="UTC", external_store_id=f"sf_b{n}")
            sandbox.publish_menu(f"ven_b{n}", items=50, groups=8, modifiers=30, depth=2, seed=n)
        mp = MarketplaceClient(stack.web_url, token)
        wait_for(
            lambda: sum(s["accepting_orders"] for s in mp.get("/stores/").json()["results"]) == 2,
            timeout=60,
            what="stores to accept orders",
        )
        catalogs = {f"sf_b{n}": mp.get(f"/stores/sf_b{n}/menu/").json() for n in range(2)}
        rng = random.Random(1)
        bodies = [order_request_from_catalog(catalogs[f"sf_b{i % 2}"], f"sf_b{i % 2}", rng) for i in range(ORDERS)]

        # Latency: one order at a time, a little apart, as a trickle of real checkouts would arrive.
        sent: dict[str, float] = {}
        for body in bodies[: ORDERS // 2]:
            t0 = time.time()
            resp = mp.place(body, key=uuid.uuid4().hex)
            sent[resp.json()["external_order_id"]] = t0
            time.sleep(0.05)
        wait_for(lambda: len(sandbox.orders()) >= len(sent), timeout=60, what="Link to receive every order")
        received = {}
        for call in sandbox.calls(method="POST", path_prefix="/v2/orders"):
            eid = (call.get("body") or {}).get("external_order_id")
            if eid in sent and eid not in received:
                received[eid] = call["ts"] - sent[eid]
        lat = sorted(received.values())

        # Throughput: the rest as fast as 8 client threads can place them.
        rest = bodies[ORDERS // 2 :]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda b: mp.place(b, key=uuid.uuid4().hex).status_code, rest))
        rate = len(rest) / (time.perf_counter() - t0)
    finally:
        stack.stop()
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    target = 0.4 if broker == "orm" else 0.1
    return [
        f"{broker:>5} broker: POST /api/v1/orders/ -> Link got it: p50 {statistics.median(lat) * 1000:6.0f} ms "
        f"(target < {target * 1000:.0f} ms: {'met' if statistics.median(lat) < target else 'NOT met'}), "
        f"p99 {p99 * 1000:6.0f} ms (target < 1000 ms: {'met' if p99 < 1 else 'NOT met'}), n={len(lat)}",
        f"{broker:>5} broker: orders placed per second through the API (8 client threads): {rate:.1f} "
        f"(statuses {sorted(set(codes))})",
    ]


def bench_orders() -> list[str]:
    header = (
        f"{ORDERS // 2} orders timed one by one, {ORDERS - ORDERS // 2} placed concurrently; gunicorn 2x4, "
        "one django-q2 cluster with 4 workers, PostgreSQL"
    )
    return [header, *_run("orm"), *_run("redis")]

"""After a Link outage: how fast the held backlog reaches Link, beside the steady-state rate (issue 12)."""

import os
import subprocess
import sys
import time

from django.conf import settings

from dev.demo import MarketplaceClient
from dev.processes import ROOT
from tests.e2e.harness import Stack
from tests.e2e.helpers import link_created_at, open_stores, order_bodies, place_all
from tests.waiting import wait_for

from .common import scratch_database
from .orders import _token

ORDERS = int(os.environ.get("BENCH_OUTAGE_ORDERS", "300"))


def _rate(times: list[float]) -> float:
    return (len(times) - 1) / (max(times) - min(times))


def bench_outage() -> list[str]:
    db_url = scratch_database("linkbridge_bench_outage")
    env = {"DATABASE_URL": db_url}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env={**os.environ, **env}, check=True)
    stack = Stack(
        db_url,
        "bench-outage",
        sandbox_args=("--seed", "6", "--no-auto"),
        env={**env, "LOG_LEVEL": "WARNING", "LINK_RETRY_BASE": "1", "LINK_RETRY_MAX": "300"},
    )
    stack.start()
    try:
        mp = MarketplaceClient(stack.web_url, _token(env))
        catalogs = open_stores(stack, mp, 2, "bo")
        steady, backlog = order_bodies(catalogs, ORDERS, seed=1), order_bodies(catalogs, ORDERS, seed=2)

        placed = set(place_all(mp, steady))
        wait_for(lambda: placed <= set(link_created_at(stack.sandbox)), timeout=120, what="the steady orders at Link")
        steady_rate = _rate([t for eid, t in link_created_at(stack.sandbox).items() if eid in placed])

        stack.sandbox.set_faults(outage=True)
        held = set(place_all(mp, backlog))
        time.sleep(10)  # the circuit opened long ago; the backlog waits for Link
        stack.sandbox.set_faults(outage=False)
        back_at = time.time()
        wait_for(lambda: held <= set(link_created_at(stack.sandbox)), timeout=120, what="the backlog at Link")
        drained = [t for eid, t in link_created_at(stack.sandbox).items() if eid in held]
    finally:
        stack.stop()
    return [
        f"{ORDERS} orders placed by 8 client threads, then {ORDERS} more during an outage; gunicorn 2x4, one django-q2 "
        f"cluster with 4 workers, ORM broker, PostgreSQL; LINK_DRAIN_RATE {settings.LINK_DRAIN_RATE:g}/s, "
        f"LINK_CIRCUIT_PROBE_INTERVAL {settings.LINK_CIRCUIT_PROBE_INTERVAL:g} s",
        f"steady state: {steady_rate:.1f} orders/s reaching Link",
        f"backlog after the outage: {_rate(drained):.1f} orders/s reaching Link; the first "
        f"{min(drained) - back_at:.1f} s and the last {max(drained) - back_at:.1f} s after Link's return",
    ]

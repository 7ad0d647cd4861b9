"""Event -> delivered: from the transaction that made an event to a verified delivery at an MP service."""

import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime

import dj_database_url
import redis

from dev.demo import MarketplaceClient, order_request_from_catalog
from dev.processes import ROOT
from dev.receiver import WebhookReceiver
from integration.services.mp_events.events import EVENT_TYPES
from tests.e2e.harness import Stack
from tests.e2e.helpers import open_stores
from tests.waiting import wait_for

from .common import scratch_database
from .orders import REDIS_URL, _token

ORDERS = int(os.environ.get("BENCH_EVENT_ORDERS", "100"))


def _received_at(receiver: WebhookReceiver) -> dict[str, float]:
    stamps: dict[str, float] = {}

    def on_delivery(delivery, answer):
        stamps.setdefault(delivery.webhook_id, time.time())

    receiver.on_delivery = on_delivery
    return stamps


def bench_notifications() -> list[str]:
    name = dj_database_url.parse(os.environ["DATABASE_URL"])["NAME"]
    db_url = scratch_database(f"{name}_bench_events")
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {"DATABASE_URL": db_url, "REDIS_URL": REDIS_URL}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env={**os.environ, **env}, check=True)
    token = _token(env)
    receiver = WebhookReceiver().start()
    stamps = _received_at(receiver)
    stack = Stack(
        db_url,
        "bench-events",
        webhooks=True,
        sandbox_args=("--seed", "7", "--confirm-after", "0.5", "--prep-after", "0.5", "--ready-after", "1"),
        env={**env, "LOG_LEVEL": "WARNING", "MP_WEBHOOK_HOSTS": receiver.url.split("/")[2]},
    )
    stack.start()
    try:
        mp = MarketplaceClient(stack.web_url, token)
        answer = mp.session.post(
            f"{stack.web_url}/api/v1/webhook-endpoints/", json={"url": receiver.url, "event_types": list(EVENT_TYPES)}
        )
        receiver.secrets = [answer.json()["secret"]]
        catalogs = open_stores(stack, mp, 2, "e")
        rng = random.Random(7)
        for i in range(ORDERS):  # a trickle of checkouts, each order then confirmed, prepared, made ready
            mp.place(order_request_from_catalog(catalogs[f"sf_e{i % 2}"], f"sf_e{i % 2}", rng), key=uuid.uuid4().hex)
            time.sleep(0.05)
        wait_for(lambda: stack.sandbox.quiet()["quiet"], timeout=120, what="the restaurants to finish")
        events = []

        def all_delivered():
            events.clear()
            after = ""
            while (page := mp.get(f"/events/?limit=500&after={after}").json())["data"]:
                events.extend(page["data"])
                after = page["next"]
            return events and all(e["id"] in stamps for e in events)

        wait_for(all_delivered, timeout=120, interval=1, what="every event to be delivered")
    finally:
        stack.stop()
        receiver.stop()
    lat = sorted(stamps[e["id"]] - datetime.fromisoformat(e["timestamp"]).timestamp() for e in events)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return [
        f"{ORDERS} orders through a fast restaurant, {len(events)} events, one endpoint (a receiver verifying every "
        "signature); Redis broker, gunicorn 2x4, django-q2 4 workers + the deliveries' own cluster of 4, PostgreSQL",
        f"event -> delivered (event row written -> receiver got the verified POST): p50 "
        f"{statistics.median(lat) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms",
    ]

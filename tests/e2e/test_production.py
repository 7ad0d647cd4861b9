"""Issue 15: the production profile, run the way the README's Production section runs it.

The Procfile through honcho: two gunicorn servers, two worker clusters and the scheduler, on the Redis
broker (a db number and a cluster name of their own) and PostgreSQL, JSON logs. 200 orders over both
servers while the sandbox answers 10% of calls with 5xx, lets 5% time out after doing the work and
delivers 20% of webhooks twice and 20% out of order; ops pause and resume a store meanwhile. Then:
nothing lost or doubled, the pause and resume reached Link in order, both clusters took tasks from
the one queue, both servers are ready and count the same calls.
"""

import json
import os
import time
import uuid

import pytest
import redis
import requests
from django_q.conf import Conf

from integration.models import OutboundCall
from tests.scrape import samples, total
from tests.waiting import wait_for

from . import faults
from .helpers import api_client

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

REDIS_URL = os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379/3")
ORDERS = 200
STORES = 4


@pytest.fixture
def redis_broker(monkeypatch):
    """A queue of this test's own on Redis; this process enqueues to it too (ops' pause and resume)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"the production profile needs Redis at {REDIS_URL}: {exc}")
    name = f"lb-e2e-{uuid.uuid4().hex[:8]}"
    for attr, value in {"ORM": None, "REDIS": REDIS_URL, "PREFIX": name, "CLUSTER_NAME": name}.items():
        monkeypatch.setattr(Conf, attr, value)
    yield name
    for key in client.scan_iter(f"django_q:{name}:*"):
        client.delete(key)


def honcho_lines(stack, process: str) -> list[str]:
    """What one of honcho's processes printed (honcho prefixes each line with the time and ``name |``)."""
    text = stack.group.procs["honcho"].log_path.read_text(errors="replace")
    return [line.split(" | ", 1)[1] for line in text.splitlines() if f" {process} " in line.split(" | ", 1)[0]]


def test_production_profile_two_servers_two_clusters_on_redis(stack_factory, redis_broker):
    started = time.monotonic()
    stack = stack_factory(
        procfile="web=2,worker=2,scheduler=1",
        q_workers=3,
        env={
            "REDIS_URL": REDIS_URL,
            "Q_NAME": redis_broker,
            "LOG_FORMAT": "json",
            "LINK_READ_TIMEOUT": "2",
            "LINK_CLAIM_LEASE": "8",
        },
        sandbox_args=("--seed", "1515", *faults.KITCHEN),
    )
    sandbox = stack.sandbox
    clients = [api_client(stack, url=url) for url in stack.web_urls]
    assert len(clients) == 2
    bodies = faults.open_stores(sandbox, clients[0], "p", STORES, ORDERS, seed=15)
    sandbox.set_faults(**faults.FAULTS, timeout_seconds=3)
    placing = faults.Placing(clients, bodies)

    def ops():
        placing.wait_placed(ORDERS // 2)
        faults.pause_and_resume("ven_p3", "production-profile pause", paused_for=1)

    placing.run(meanwhile=ops)
    faults.wait_quiet(sandbox, timeout=150)
    sandbox.set_faults(error_rate=0, timeout_rate=0, webhook_duplicate_rate=0, webhook_reorder_rate=0)

    result = faults.audit(sandbox, placing, "ven_p3")
    print(f"\nproduction profile: {result.summary}; wall {time.monotonic() - started:.0f}s")
    faults.assert_nothing_lost_or_doubled(result, placing, ORDERS)
    assert sandbox.venue("ven_p3")["status"] == "ACTIVE"

    for cluster in ("worker.1", "worker.2"):
        processed = [line for line in honcho_lines(stack, cluster) if "processing" in line]
        assert processed, f"{cluster} took no task from the shared Redis queue"
    web = [json.loads(line) for line in honcho_lines(stack, "web.1") if line.startswith("{")]
    placed_lines = [e for e in web if "placed at" in e["message"]]
    assert placed_lines and all(e["request_id"] and e["external_order_id"] and e["venue_id"] for e in placed_lines)
    lines = honcho_lines(stack, "worker.1") + honcho_lines(stack, "worker.2")
    worker = [json.loads(line) for line in lines if line.startswith("{")]
    submits = [e for e in worker if "POST /v2/orders " in e["message"]]
    assert submits and all(e["call_id"] and e["external_order_id"] and e["venue_id"] for e in submits)
    for url in stack.web_urls:
        wait_for(
            lambda url=url: requests.get(f"{url}/readyz/", timeout=5).status_code == 200,
            timeout=90,
            what=f"{url}/readyz/ (Redis, migrations, a worker's sweep)",
        )
    succeeded = OutboundCall.objects.filter(kind="submit_order", status="SUCCEEDED").count()
    for url in stack.web_urls:  # one host: both servers add up the same files of all its processes
        scraped = samples(stack.metrics(url=url).text)
        assert total(scraped, "linkbridge_link_calls_total", kind="submit_order", outcome="succeeded") == succeeded

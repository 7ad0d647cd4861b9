"""Issue 14 end to end: MP services follow their orders by signed webhooks and by the event feed."""

import random
import socket
import statistics
import threading
import time
import uuid
from collections import defaultdict

import pytest

from dev.demo import order_request_from_catalog
from dev.receiver import Answer, WebhookReceiver
from integration.models import Order, OutboundCall, WebhookEndpoint
from integration.services.mp_events.events import EVENT_TYPES
from tests.waiting import wait_for

from .helpers import api_client, open_stores

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

FAST_RESTAURANT = ("--confirm-after", "0.3", "--prep-after", "0.3", "--ready-after", "0.5")


def register(mp, url: str, event_types=EVENT_TYPES) -> dict:
    answer = mp.session.post(
        f"{mp.api}/api/v1/webhook-endpoints/", json={"url": url, "event_types": list(event_types)}, timeout=10
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def feed(mp) -> list[dict]:
    events, after = [], ""
    while True:
        page = mp.get(f"/events/?limit=100&after={after}").json()
        if not page["data"]:
            return events
        events += page["data"]
        after = page["next"]


def deliveries_settled() -> bool:
    return not OutboundCall.objects.filter(kind="deliver_event", status="PENDING").exists()


class Stubborn:
    """Fails the first try of every message (500) and stalls one try in ten past the sender's read
    timeout (then answers 503: a stalled try never counts as delivered)."""

    def __init__(self):
        self.tries = defaultdict(int)
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, delivery) -> Answer:
        with self.lock:
            self.tries[delivery.webhook_id] += 1
            self.count += 1
            n, total = self.tries[delivery.webhook_id], self.count
        if not delivery.valid:
            return Answer(400)
        if n == 1:
            return Answer(500)
        if total % 10 == 0:
            return Answer(503, delay=1.5)
        return Answer(204)


def test_fifty_orders_every_event_arrives_signed_as_the_feed_lists_it(stack_factory):
    stubborn = Stubborn()
    receiver = WebhookReceiver(respond=stubborn).start()
    host = receiver.url.split("/")[2]
    try:
        stack = stack_factory(
            webhooks=True,
            sandbox_args=("--seed", "14", *FAST_RESTAURANT, "--reject-rate", "0.1", "--cancel-rate", "0.1"),
            env={"MP_WEBHOOK_HOSTS": host, "MP_WEBHOOK_READ_TIMEOUT": "1", "LINK_RETRY_BASE": "0.2"},
        )
        mp = api_client(stack)
        receiver.secrets = [register(mp, receiver.url)["secret"]]
        catalogs = open_stores(stack, mp, 2, "w")
        rng = random.Random(14)
        placed = []
        for i in range(50):
            body = order_request_from_catalog(catalogs[f"sf_w{i % 2}"], f"sf_w{i % 2}", rng)
            answer = mp.place(body, key=uuid.uuid4().hex)
            assert answer.status_code == 201, answer.text
            placed.append(answer.json()["external_order_id"])

        def settled():
            return (
                stack.sandbox.quiet()["quiet"]
                and not Order.objects.filter(state__in=Order.OPEN_STATES).exists()
                and deliveries_settled()
            )

        wait_for(settled, timeout=240, interval=1, what="orders and deliveries to settle")
    finally:
        receiver.stop()

    listed = feed(mp)
    by_id = {e["id"]: e for e in listed}
    assert len(by_id) == len(listed)
    delivered = {}
    for d in receiver.accepted:
        assert d.valid
        delivered.setdefault(d.webhook_id, d.body)  # at least once: a repeat has the same id and body
    assert set(delivered) == set(by_id)
    for event_id, body in delivered.items():
        assert body == {k: by_id[event_id][k] for k in ("type", "timestamp", "data")}
    assert all(d.valid for d in receiver.received), [d.error for d in receiver.received if not d.valid]
    assert min(stubborn.tries.values()) >= 2 and max(stubborn.tries.values()) >= 3  # stalls hit some twice

    per_order = defaultdict(list)
    for event in listed:
        if event["type"].startswith("order."):
            per_order[event["data"]["external_order_id"]].append(event["data"]["sequence"])
    assert set(per_order) == set(placed)
    for external_id, sequences in per_order.items():
        assert sequences == list(range(1, len(sequences) + 1)), (external_id, sequences)
    final = {e["data"]["external_order_id"]: e["data"]["state"] for e in listed if e["type"].startswith("order.")}
    for order in Order.objects.filter(external_order_id__in=placed):
        assert final[order.external_order_id] == order.state  # the last event tells where each order ended
    types = {e["type"] for e in listed}
    assert {"order.submitted", "order.confirmed", "order.ready", "store.accepting_changed", "menu.updated"} <= types


def _order_to_link_latencies(stack, mp, catalogs, rng, n: int) -> list[float]:
    sent = {}
    for i in range(n):
        body = order_request_from_catalog(catalogs[f"sf_d{i % 2}"], f"sf_d{i % 2}", rng)
        t0 = time.time()
        answer = mp.place(body, key=uuid.uuid4().hex)
        assert answer.status_code == 201, answer.text
        sent[answer.json()["external_order_id"]] = t0
        time.sleep(0.1)
    seen = {}

    def all_seen():
        for call in stack.sandbox.calls(method="POST", path_prefix="/v2/orders"):
            eid = (call.get("body") or {}).get("external_order_id")
            if eid in sent and eid not in seen:
                seen[eid] = call["ts"] - sent[eid]
        return len(seen) == len(sent)

    wait_for(all_seen, timeout=60, what="Link to receive every order")
    return sorted(seen.values())


def test_dead_endpoints_slow_neither_order_submission_nor_other_endpoints(stack_factory):
    """Three dead endpoints would want six of the four delivery workers (two places each); failing, they
    get one each and two between them (``MP_WEBHOOK_FAILING_PLACES``), so the healthy one still gets its event."""
    dead = socket.socket()  # accepts connections and never answers: every try ends in a timeout
    dead.bind(("127.0.0.1", 0))
    dead.listen(256)
    dead_url = f"http://127.0.0.1:{dead.getsockname()[1]}/hooks"
    healthy = WebhookReceiver().start()
    try:
        stack = stack_factory(
            webhooks=True,
            sandbox_args=("--seed", "15", "--no-auto"),
            env={"MP_WEBHOOK_HOSTS": f"{dead_url.split('/')[2]},{healthy.url.split('/')[2]}"},
        )
        mp = api_client(stack)
        catalogs = open_stores(stack, mp, 2, "d")
        rng = random.Random(15)
        _order_to_link_latencies(stack, mp, catalogs, rng, 5)  # warm up
        before = _order_to_link_latencies(stack, mp, catalogs, rng, 30)

        for n in range(3):
            register(mp, f"{dead_url}/{n}")
        other = api_client(stack, "courier-dispatch")
        healthy.secrets = [register(other, healthy.url, ["store.accepting_changed"])["secret"]]
        during = _order_to_link_latencies(stack, mp, catalogs, rng, 30)
        wait_for(
            lambda: WebhookEndpoint.objects.filter(failing_since__isnull=False).count() == 3,
            timeout=30,
            what="each dead endpoint's first try to time out",
        )
        held = OutboundCall.objects.filter(kind="deliver_event", status="PENDING").count()

        t0 = time.time()
        stack.sandbox.pause_venue("ven_d0", reason="busy")
        wait_for(lambda: healthy.accepted, timeout=20, what="the healthy endpoint's delivery")
        other_delay = time.time() - t0
    finally:
        healthy.stop()
        dead.close()

    p50_before, p50_during = statistics.median(before), statistics.median(during)
    print(
        f"order -> Link p50 {p50_before * 1000:.0f} ms without, {p50_during * 1000:.0f} ms with three dead endpoints "
        f"({held} deliveries pending to them); the healthy endpoint's event arrived {other_delay:.2f} s after the pause"
    )
    assert held >= 20
    assert p50_during <= max(2 * p50_before, p50_before + 0.05), (before, during)
    assert other_delay < 5
    assert healthy.accepted[0].body["data"]["reason"] == "paused"

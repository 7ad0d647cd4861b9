"""Issue 15: `/metrics` of a running stack (gunicorn workers and django-q2 processes adding up) follows its traffic."""

import random
import uuid

import pytest
import requests

from dev.demo import order_request_from_catalog
from integration.models import CallAttempt, Order, OutboundCall
from tests.scrape import moved, samples, value
from tests.waiting import wait_for

from .helpers import api_client

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

COUNTED = [  # every counter and histogram the issue names, as exposed samples
    "linkbridge_webhooks_received_total",
    "linkbridge_link_calls_total",
    "linkbridge_link_call_duration_seconds_count",
    "linkbridge_link_call_duration_seconds_sum",
    "linkbridge_order_submit_seconds_count",
]


def test_metrics_of_a_running_stack_move_with_orders_and_webhooks(stack_factory):
    stack = stack_factory(
        web_workers=2,
        q_workers=2,
        sandbox_args=(
            *("--seed", "15", "--reject-rate", "0", "--cancel-rate", "0"),
            *("--confirm-after", "0.2", "--prep-after", "0.2", "--ready-after", "0.3"),
        ),
    )
    assert stack.metrics(token=None).status_code == 404
    assert stack.metrics(token="not-it").status_code == 404
    first = samples(stack.metrics().text)

    sandbox = stack.sandbox
    sandbox.connect_venue("ven_m0", name="Metrics Shop", timezone="UTC", external_store_id="sf_m0")
    sandbox.publish_menu("ven_m0", items=10, groups=2, modifiers=6, depth=1, seed=1)
    mp = api_client(stack)
    wait_for(lambda: mp.get("/stores/sf_m0/").json().get("accepting_orders"), timeout=40, what="the store to accept")
    catalog = mp.get("/stores/sf_m0/menu/").json()
    rng = random.Random(15)

    # Link down: the submissions stay pending and are retried.
    sandbox.set_faults(error_rate=1.0)
    placed = [mp.place(order_request_from_catalog(catalog, "sf_m0", rng), key=uuid.uuid4().hex) for _ in range(3)]
    assert [r.status_code for r in placed] == [201] * 3
    wait_for(
        lambda: CallAttempt.objects.filter(call__kind="submit_order", outcome="retriable").count() >= 3,
        timeout=30,
        what="a failed try of each submission",
    )
    during = samples(stack.metrics().text)
    assert value(during, "linkbridge_outbox_pending", kind="submit_order") == 3
    assert value(during, "linkbridge_outbox_oldest_pending_seconds") > 0
    assert value(during, "linkbridge_orders", state="PENDING") == 3

    # Link back, every webhook delivered twice: the orders go through to READY.
    sandbox.set_faults(error_rate=0, webhook_duplicate_rate=1.0)
    wait_for(
        lambda: (
            not OutboundCall.objects.filter(status="PENDING").exists()
            and not Order.objects.exclude(state="READY").exists()
            and sandbox.quiet()["quiet"]
        ),
        timeout=60,
        interval=0.5,
        what="every order READY and Link quiet",
    )
    requests.post(f"{stack.web_url}/link/webhooks/", data=b"{}", timeout=5)  # unsigned: refused
    after = samples(stack.metrics().text)

    for name in COUNTED:
        assert moved(first, after, name) > 0, name
    received = "linkbridge_webhooks_received_total"
    for outcome in ("processed", "duplicate"):
        assert moved(first, after, received, type="order.ready", outcome=outcome) == 3, outcome
    assert moved(first, after, received, outcome="refused") == 1
    assert moved(first, after, "linkbridge_link_calls_total", kind="submit_order", outcome="retried") >= 3
    assert moved(first, after, "linkbridge_link_calls_total", kind="submit_order", outcome="succeeded") == 3
    assert moved(first, after, "linkbridge_link_calls_total", kind="fetch_menu", outcome="succeeded") == 1
    assert moved(first, after, "linkbridge_order_submit_seconds_count") == 3
    assert value(after, "linkbridge_outbox_pending", kind="submit_order") == 0
    assert value(after, "linkbridge_orders", state="PENDING") == 0
    assert value(after, "linkbridge_outbox_oldest_pending_seconds") == 0

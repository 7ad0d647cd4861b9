"""Issue 4 end to end: 50 orders through the API against the sandbox, every one ends where Link says."""

import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from dev.demo import order_request_from_catalog
from integration.models import Order, OutboundCall
from tests.waiting import wait_for

from .helpers import LINK_TO_STATE, api_client

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]


def test_fifty_orders_end_in_the_sandbox_state_each_seen_once(stack_factory):
    stack = stack_factory(
        sandbox_args=(
            "--seed",
            "11",
            "--confirm-after",
            "0.3",
            "--prep-after",
            "0.3",
            "--ready-after",
            "0.5",
            "--reject-rate",
            "0.15",
            "--cancel-rate",
            "0.1",
        )
    )
    sandbox = stack.sandbox
    for n in range(2):
        sandbox.connect_venue(f"ven_o{n}", name=f"Order Shop {n}", timezone="UTC", external_store_id=f"sf_o{n}")
        sandbox.publish_menu(f"ven_o{n}", items=30, groups=6, modifiers=20, depth=2, seed=n)
    mp = api_client(stack)
    wait_for(
        lambda: sum(s["accepting_orders"] for s in mp.get("/stores/").json()["results"]) == 2,
        timeout=40,
        what="both stores to accept orders",
    )
    catalogs = {f"sf_o{n}": mp.get(f"/stores/sf_o{n}/menu/").json() for n in range(2)}
    rng = random.Random(4)
    bodies = [order_request_from_catalog(catalogs[f"sf_o{i % 2}"], f"sf_o{i % 2}", rng) for i in range(50)]

    def place(body):
        resp = mp.place(body, key=uuid.uuid4().hex)
        assert resp.status_code == 201, resp.text
        return resp.json()["external_order_id"]

    with ThreadPoolExecutor(8) as pool:
        placed = list(pool.map(place, bodies))
    assert len(set(placed)) == 50

    def settled():
        if OutboundCall.objects.filter(status="PENDING").exists():
            return False
        return sandbox.quiet()["quiet"] and not Order.objects.filter(state="PENDING").exists()

    wait_for(settled, timeout=90, interval=0.5, what="orders to settle")
    link_orders = {o["external_order_id"]: o for o in sandbox.orders()}
    for order in Order.objects.filter(external_order_id__in=placed):
        seen = link_orders[order.external_order_id]
        assert seen["created"] == 1, seen
        assert order.link_order_id == seen["order_id"]
        assert order.state == LINK_TO_STATE[seen["status"]], (order.external_order_id, order.state, seen["status"])
    assert len(link_orders) == 50
    states = set(Order.objects.values_list("state", flat=True))
    assert "READY" in states and states <= {"READY", "REJECTED", "CANCELLED"}

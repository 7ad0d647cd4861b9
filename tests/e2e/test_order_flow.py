"""Issue 4 end to end: 50 orders through the API against the sandbox, every one ends where Link says."""

import pytest

from integration.models import Order, OutboundCall
from tests.waiting import wait_for

from .helpers import LINK_TO_STATE, api_client, open_stores, order_bodies, place_all

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
    mp = api_client(stack)
    placed = place_all(mp, order_bodies(open_stores(stack, mp, 2, "o", timeout=40), 50, seed=4))
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

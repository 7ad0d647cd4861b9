"""Orders over real HTTP, in one process: the Link sandbox on a port, our webhook endpoint on live_server.

Not the e2e suite (no gunicorn, no worker): calls are delivered with ``call_deliver`` in the test,
so this checks the wire (bodies, headers, signatures, answers) both ways.
"""

import pytest

from integration.models import Order, Store
from integration.services.orders.cancellation import order_cancel
from integration.services.orders.recovery import order_reconcile
from integration.services.outbox.calls import call_deliver
from tests.order_fixtures import cancel_calls, order_request, place, published_menu, submit_call
from tests.waiting import wait_for

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def state_of(order):
    return Order.objects.get(pk=order.pk).state


def test_place_submit_follow_cancel_and_reconcile_over_http(sandbox):
    sandbox.connect_venue("ven_1", name="HTTP Burgers", external_store_id="sf_1")
    store = wait_for(lambda: Store.objects.filter(venue_id="ven_1").first(), what="store.connected")
    published_menu(store)

    first, second, third = place(), place(order_request(tip=0)), place()
    for order in (first, second, third):
        call_deliver(submit_call(order).pk, inline_wait=0)
        order.refresh_from_db()
        assert order.link_order_id and sandbox.order(order.external_order_id)["status"] == "INIT"

    # The restaurant confirms the first: a signed order.confirmed reaches us and applies.
    sandbox.advance_order(first.link_order_id, "SENT", prep_time_minutes=12)
    wait_for(lambda: state_of(first) == "CONFIRMED", what="order.confirmed")
    assert Order.objects.get(pk=first.pk).prep_time_minutes == 12

    # The MP cancels it: Link answers 200 and the order is CANCELLED.
    order_cancel(first, reason_code="CUSTOMER_REQUEST", reason="changed mind")
    call_deliver(cancel_calls(first).get().pk, inline_wait=0)
    assert state_of(first) == "CANCELLED" and sandbox.order(first.link_order_id)["status"] == "CANCELLED"

    # The second is ready before the cancel arrives at Link: 409, the refusal is shown.
    order_cancel(second, reason_code="CUSTOMER_REQUEST", reason="too slow")
    sandbox.advance_order(second.link_order_id, "READY", emit=False)
    call_deliver(cancel_calls(second).get().pk, inline_wait=0)
    second.refresh_from_db()
    assert second.state == "PENDING" and second.cancel_status == "refused" and "READY" in second.cancel_refusal

    # Link's webhook for the third is lost; reconcile reads Link's truth.
    sandbox.advance_order(third.link_order_id, "IN_PREP", emit=False)
    result = order_reconcile(third)
    assert result.change == "PENDING -> IN_PREP" and state_of(third) == "IN_PREP"

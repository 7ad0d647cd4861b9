"""Submitting an order to Link through the outbox: 201, 409, 422, retriable errors until the deadline."""

import json
import time

import pytest
import responses as responses_lib
from django.utils import timezone

from integration.models import Order, OutboundCall
from integration.services.outbox.calls import call_deliver
from integration.services.outbox.sweep import calls_expire
from tests.conftest import LINK
from tests.order_fixtures import link_answers_submit, link_takes, make_store, place, submit_call

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    make_store()
    return place()


def test_201_stores_links_order_id_and_sends_the_contract_body(order, mocked_link):
    order = link_takes(mocked_link, order, "ord_abc")
    assert order.link_order_id == "ord_abc" and order.submitted_at is not None
    assert order.state == Order.State.PENDING and order.link_status == "INIT"
    assert submit_call(order).status == OutboundCall.Status.SUCCEEDED

    sent = next(c.request for c in mocked_link.calls if c.request.url == f"{LINK}/v2/orders")
    assert sent.headers["Idempotency-Key"] == order.external_order_id
    assert sent.headers["Authorization"] == "Bearer tok-1"
    body = json.loads(sent.body)
    assert body == {
        "external_order_id": order.external_order_id,
        "venue_id": "ven_1",
        "placed_at": order.placed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "currency": "USD",
        "fulfillment": {"type": "pickup", "scheduled_for": None},
        "customer": {"name": "Ada L.", "phone": "+15555550100"},
        "items": [
            {
                "item_id": "itm_burger",
                "name": "Cheeseburger",
                "quantity": 2,
                "unit_price": 899,
                "special_instructions": "no onions",
                "modifiers": [
                    {
                        "modifier_id": "mod_single",
                        "group_id": "mg_size",
                        "name": "Single",
                        "quantity": 1,
                        "unit_price": 0,
                        "modifiers": [],
                    },
                    {
                        "modifier_id": "mod_bacon",
                        "group_id": "mg_addons",
                        "name": "Bacon",
                        "quantity": 1,
                        "unit_price": 150,
                        "modifiers": [],
                    },
                ],
            }
        ],
        "totals": {"subtotal": 2098, "tax": 184, "tip": 300, "delivery_fee": 0, "discount": 0, "total": 2582},
        "notes": "",
    }


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (409, "store_not_accepting", "Venue ven_1 does not accept orders (PAUSED)."),
        (422, "invalid_order", "The order is not valid."),
    ],
)
def test_409_and_422_fail_the_order_with_links_reason(order, mocked_link, status, code, message):
    mocked_link.add(
        responses_lib.POST,
        f"{LINK}/v2/orders",
        json={"error": {"code": code, "message": message, "details": {}}},
        status=status,
    )
    assert call_deliver(submit_call(order).pk, inline_wait=0) == 1  # not retried
    order.refresh_from_db()
    assert order.state == Order.State.FAILED
    assert code in order.failure_reason and message in order.failure_reason
    assert submit_call(order).status == OutboundCall.Status.FAILED
    assert order.link_order_id is None


def test_5xx_is_retried_then_201_succeeds(order, mocked_link):
    mocked_link.add(responses_lib.POST, f"{LINK}/v2/orders", json={"error": {"code": "oops"}}, status=503)
    mocked_link.add(responses_lib.POST, f"{LINK}/v2/orders", json={"error": {"code": "oops"}}, status=500)
    link_answers_submit(mocked_link, order, "ord_1")
    assert call_deliver(submit_call(order).pk, inline_wait=1) == 3
    order.refresh_from_db()
    assert order.link_order_id == "ord_1" and order.state == Order.State.PENDING
    keys = {c.request.headers.get("Idempotency-Key") for c in mocked_link.calls if "/v2/orders" in c.request.url}
    assert keys == {order.external_order_id}  # every try carries the same key, so Link dedupes


def test_5xx_until_the_submit_deadline_fails_the_order(mocked_link, settings):
    settings.LINK_SUBMIT_DEADLINE = 1
    settings.LINK_CIRCUIT_FAILURES = 1000  # Link keeps failing but the circuit stays closed: every try counts
    make_store()
    order = place()
    mocked_link.add(responses_lib.POST, f"{LINK}/v2/orders", json={"error": {"code": "unavailable"}}, status=503)
    started = time.monotonic()
    tries = call_deliver(submit_call(order).pk, inline_wait=1)
    assert tries > 1 and time.monotonic() - started < 5
    order.refresh_from_db()
    call = submit_call(order)
    assert call.status == OutboundCall.Status.FAILED and "Gave up at the deadline" in call.last_error
    assert order.state == Order.State.FAILED and "deadline" in order.failure_reason


def test_deadline_passed_while_nobody_sent_it_gets_a_try_first(order, mocked_link):
    """Issue 12: a submission fails only after a try (Link could not take it), not for lack of one."""
    OutboundCall.objects.filter(pk=submit_call(order).pk).update(deadline=timezone.now())
    assert calls_expire() == 0
    mocked_link.add(responses_lib.POST, f"{LINK}/v2/orders", json={"error": {"code": "unavailable"}}, status=503)
    call_deliver(submit_call(order).pk, inline_wait=0)
    order.refresh_from_db()
    assert order.state == Order.State.FAILED and "Gave up at the deadline" in order.failure_reason
    assert "after 1 attempts" in order.failure_reason


def test_failure_after_link_named_the_order_does_not_fail_it(order, mocked_link):
    """Link's event arrived (so a try landed) but our call still gave up: Link's events keep driving it."""
    Order.objects.filter(pk=order.pk).update(link_order_id="ord_seen", state=Order.State.CONFIRMED)
    mocked_link.add(responses_lib.POST, f"{LINK}/v2/orders", json={"error": {"code": "invalid_order"}}, status=422)
    call_deliver(submit_call(order).pk, inline_wait=0)
    order.refresh_from_db()
    assert order.state == Order.State.CONFIRMED and order.failure_reason == ""

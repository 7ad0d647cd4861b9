"""Races on real PostgreSQL: MP cancel vs Link's order.ready, and concurrent idempotent POSTs."""

import threading

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connections
from django_fsm_log.models import StateLog

from integration.models import Order, OutboundCall, WebhookEvent
from integration.services.orders import cancellation, lifecycle
from integration.services.orders.cancellation import order_cancel
from integration.services.orders.errors import IdempotencyKeyReused, OrderActionRefused
from integration.services.orders.placement import Placed, order_place
from tests.factories import OrderFactory, StoreFactory
from tests.order_fixtures import api_user, cancel_calls, make_store, order_event, order_request, validated
from tests.waiting import wait_until_blocked

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def run_together(*functions):
    """Start every function at once on its own thread (and DB connection); return results or exceptions."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def run(n, fn):
        try:
            barrier.wait()
            results[n] = fn()
        except Exception as exc:  # collected and inspected by the test
            results[n] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n, fn)) for n, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def held_until_the_other_waits(monkeypatch, *targets) -> threading.Lock:
    """Whichever racer takes the order's row lock first keeps it, between reading the order and
    saving it (where a lost update would happen), until the other is really blocked on it.
    Release the returned lock before each round."""
    first = threading.Lock()

    def holding(original):
        def held(*args, **kwargs):
            if first.acquire(blocking=False):
                wait_until_blocked()
            return original(*args, **kwargs)

        return held

    for module, name in targets:
        monkeypatch.setattr(module, name, holding(getattr(module, name)))
    return first


def test_mp_cancel_racing_links_ready_ends_consistent(monkeypatch):
    store = StoreFactory(venue_id="ven_1")
    first = held_until_the_other_waits(monkeypatch, (cancellation, "_request_cancel"), (lifecycle, "report_apply"))
    outcomes = set()
    for n in range(8):
        if first.locked():
            first.release()
        order = OrderFactory(store=store, submitted=True, link_order_id=f"ord_race_{n}", state=Order.State.CONFIRMED)

        def mp_cancel(order=order):
            return order_cancel(order, reason_code="CUSTOMER_REQUEST", reason="race")

        def link_ready(order=order):
            return order_event("order.ready", order, ready_at="2026-11-27T12:30:00Z")

        if n % 2:
            cancel_result, ready_result = run_together(mp_cancel, link_ready)
        else:
            ready_result, cancel_result = run_together(link_ready, mp_cancel)

        order.refresh_from_db()
        assert isinstance(ready_result, WebhookEvent) and ready_result.status == WebhookEvent.Status.PROCESSED
        assert order.state == Order.State.READY and order.ready_at is not None  # Link's update not lost
        transitions = StateLog.objects.filter(
            content_type=ContentType.objects.get_for_model(Order), object_id=order.pk
        ).values_list("state", flat=True)
        assert list(transitions) == ["READY"]
        if isinstance(cancel_result, OrderActionRefused):
            outcomes.add("ready first")
            assert order.cancel_requested_at is None and not cancel_calls(order).exists()
        else:
            assert not isinstance(cancel_result, Exception), cancel_result
            outcomes.add("cancel first")
            # The MP's update is not lost either: the request is recorded, then refused by READY.
            assert order.cancel_requested_at is not None and order.cancel_reason == "race"
            assert order.cancel_status == "refused" and "READY" in order.cancel_refusal
            assert [c.status for c in cancel_calls(order)] == [OutboundCall.Status.SKIPPED]
    assert outcomes  # at least one interleaving seen; usually both


def test_concurrent_retries_with_one_idempotency_key_create_one_order():
    make_store()
    user = api_user()
    data = validated(order_request())

    def post():
        return order_place(data, user=user, idempotency_key="same-key")

    results = run_together(*[post] * 8)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r.order.external_order_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert Order.objects.count() == 1
    assert OutboundCall.objects.filter(kind=OutboundCall.Kind.SUBMIT_ORDER).count() == 1


def test_concurrent_key_reuse_with_another_body_is_refused():
    make_store()
    user = api_user()

    def post(tip):
        return lambda: order_place(validated(order_request(tip=tip)), user=user, idempotency_key="k")

    results = run_together(post(100), post(200))
    refused = [r for r in results if isinstance(r, IdempotencyKeyReused)]
    placed = [r for r in results if isinstance(r, Placed)]
    assert len(refused) == 1 and len(placed) == 1 and Order.objects.count() == 1

"""Every fault the sandbox can inject, against our real handling over real HTTP (one process).

Each test fails if the handling it names is removed: retries (5xx, 429, timeouts, latency), the
Idempotency-Key (timeouts and latency after Link did the work), event-id dedup (duplicates), the
no-moving-back rule (reordered and delayed deliveries) and the 401 refresh (token revocation).
"""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from django_fsm_log.models import StateLog

from integration.link.client import reset_client
from integration.models import Order, OutboundCall, Store, WebhookEvent
from integration.services.orders.recovery import order_reconcile
from integration.services.outbox.calls import call_deliver
from integration.services.outbox.circuit import circuit_store
from tests.order_fixtures import place, published_menu, submit_call
from tests.waiting import wait_for

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def faulty(sandbox, settings):
    """The sandbox with one connected venue whose menu is published here; reads time out at 0.5 s.

    A retry is due 2.5 s or more after a failed try, so ``call_deliver(..., inline_wait=0)`` makes
    exactly one try however slow the machine is; ``deliver_until_settled`` makes each retry due.
    """
    settings.LINK_READ_TIMEOUT = 0.5
    settings.LINK_RETRY_BASE = 5
    reset_client()
    sandbox.connect_venue("ven_1", name="Fault Diner", external_store_id="sf_1")
    published_menu(wait_for(lambda: Store.objects.filter(venue_id="ven_1").first(), what="store.connected"))
    return sandbox


def submitted(sandbox) -> Order:
    order = place()
    call_deliver(submit_call(order).pk, inline_wait=0)
    order.refresh_from_db()
    assert order.link_order_id
    return order


def deliver_until_settled(call: OutboundCall, tries: int = 10) -> OutboundCall:
    for _ in range(tries):
        OutboundCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
        call_deliver(call.pk, inline_wait=0)
        call.refresh_from_db()
        if call.status != OutboundCall.Status.PENDING:
            break
    return call


def link_order(sandbox, order) -> dict:
    return sandbox.order(order.external_order_id)


def test_5xx_is_retried_and_the_order_arrives_once(faulty):
    faulty.set_faults(fail_next=2, fail_status=503)
    order = place()
    call = deliver_until_settled(submit_call(order))
    assert call.status == "SUCCEEDED"
    assert list(call.call_attempts.values_list("status_code", flat=True)) == [503, 503, 201]
    assert link_order(faulty, order)["created"] == 1


def test_429_waits_at_least_retry_after(faulty):
    faulty.set_faults(rate_limit_rate=1, retry_after=30)
    order = place()
    call = submit_call(order)
    before = timezone.now()
    call_deliver(call.pk, inline_wait=0)
    call.refresh_from_db()
    assert call.status == "PENDING" and call.last_status_code == 429
    assert call.next_attempt_at >= before + timedelta(seconds=30)
    faulty.clear_faults()
    OutboundCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
    assert call_deliver(call.pk, inline_wait=0) == 0  # due, but every call to Link waits out the Retry-After
    circuit_store().change(urlsplit(faulty.base_url).netloc, lambda state: state.update(paused_until=0))
    assert deliver_until_settled(call).status == "SUCCEEDED"


def test_timeout_after_link_did_the_work_creates_one_order(faulty):
    faulty.set_faults(timeout_rate=1, timeout_seconds=1.5)
    order = place()
    call = submit_call(order)
    call_deliver(call.pk, inline_wait=0)
    call.refresh_from_db()
    assert call.status == "PENDING" and "timeout" in call.last_error
    assert link_order(faulty, order)["created"] == 1  # Link has it; we never heard
    faulty.clear_faults()
    assert deliver_until_settled(call).status == "SUCCEEDED"
    seen = link_order(faulty, order)
    assert seen["created"] == 1 and seen["submissions"] == 2
    order.refresh_from_db()
    assert order.link_order_id == seen["order_id"]


def test_latency_beyond_the_read_timeout_is_retried_with_the_same_key(faulty):
    faulty.set_faults(latency_ms=1200)
    order = place()
    call = submit_call(order)
    call_deliver(call.pk, inline_wait=0)
    call.refresh_from_db()
    assert call.status == "PENDING" and call.call_attempts.get().outcome == "retriable"
    faulty.set_faults(latency_ms=50)
    assert deliver_until_settled(call).status == "SUCCEEDED"
    keys = {c["headers"]["Idempotency-Key"] for c in faulty.calls(method="POST", path_prefix="/v2/orders")}
    assert keys == {order.external_order_id}
    assert link_order(faulty, order)["created"] == 1


def test_revoked_token_is_refreshed_once(faulty):
    first = submitted(faulty)
    faulty.revoke_tokens()
    second = submitted(faulty)
    statuses = [c["status"] for c in faulty.calls(method="POST", path_prefix="/v2/orders")]
    assert statuses == [201, 401, 201]
    assert first.link_order_id != second.link_order_id


def test_duplicate_deliveries_apply_once(faulty):
    order = submitted(faulty)
    faulty.set_faults(webhook_duplicate_rate=1)
    faulty.advance_order(order.link_order_id, "SENT", prep_time_minutes=9)
    wait_for(lambda: len(faulty.webhooks(type_="order.confirmed")["attempts"]) >= 2, what="both copies")
    wait_for(lambda: Order.objects.get(pk=order.pk).state == "CONFIRMED", what="order.confirmed")
    assert WebhookEvent.objects.filter(type="order.confirmed").count() == 1
    assert StateLog.objects.filter(object_id=order.pk, state="CONFIRMED").count() == 1


def test_reordered_deliveries_never_move_an_order_back(faulty):
    order = submitted(faulty)
    faulty.set_faults(webhook_reorder_rate=1, webhook_max_hold_ms=300)
    faulty.advance_order(order.link_order_id, "SENT", prep_time_minutes=5)
    faulty.advance_order(order.link_order_id, "READY")
    wait_for(
        lambda: WebhookEvent.objects.filter(external_order_id=order.external_order_id).count() == 2, what="both events"
    )
    assert Order.objects.get(pk=order.pk).state == "READY"
    statuses = dict(WebhookEvent.objects.values_list("type", "status"))
    assert statuses["order.ready"] == "PROCESSED"


def test_a_delayed_event_that_became_stale_is_ignored(faulty):
    order = submitted(faulty)
    faulty.set_faults(webhook_delay_ms=1500)
    faulty.advance_order(order.link_order_id, "SENT", prep_time_minutes=5)
    faulty.advance_order(order.link_order_id, "READY", emit=False)
    order_reconcile(order)  # ops read Link's truth before the delayed event arrived
    assert Order.objects.get(pk=order.pk).state == "READY"
    late = wait_for(lambda: WebhookEvent.objects.filter(type="order.confirmed").first(), what="the late event")
    assert late.status == "IGNORED" and Order.objects.get(pk=order.pk).state == "READY"

"""MP-side cancel, the confirm deadline, store disconnects, retrying a failed submission."""

import json
from datetime import timedelta

import pytest
import responses as responses_lib
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integration.models import Order, OutboundCall, Store, WebhookEvent
from integration.services.orders.cancellation import order_cancel
from integration.services.orders.errors import OrderActionRefused
from integration.services.orders.recovery import order_retry_submission
from integration.services.outbox.calls import call_claim, call_deliver, call_send
from integration.tasks import sweep
from tests.conftest import LINK, envelope
from tests.order_fixtures import (
    api_user,
    cancel_calls,
    link_answers_submit,
    link_takes,
    make_store,
    order_event,
    order_request,
    place,
    submit_call,
)

pytestmark = pytest.mark.django_db

S = Order.State


@pytest.fixture
def store():
    return make_store()


@pytest.fixture
def submitted(store, mocked_link):
    return link_takes(mocked_link, place(), "ord_1")


def cancel(order, code="CUSTOMER_REQUEST", reason="changed mind", **kwargs):
    order = order_cancel(order, reason_code=code, reason=reason, **kwargs)
    order.refresh_from_db()
    return order


def link_answers_cancel(rsps, link_order_id="ord_1", status=200, body=None):
    rsps.add(
        responses_lib.POST,
        f"{LINK}/v2/orders/{link_order_id}/cancel",
        json=body if body is not None else {"status": "CANCELLED"},
        status=status,
    )


def link_refuses_cancel(rsps, link_order_id="ord_1", *, message=None, status=None):
    """Link answers the cancel 409 ``cancel_not_allowed``, with a message and ``details.status`` when given."""
    error = {"code": "cancel_not_allowed"}
    if message is not None:
        error["message"] = message
    if status is not None:
        error["details"] = {"status": status}
    link_answers_cancel(rsps, link_order_id, status=409, body={"error": error})


def test_cancel_before_the_submission_left_is_never_sent(store, mocked_link):
    order = place()
    user = api_user("ops")
    order = cancel(order, user=user)
    assert order.state == S.CANCELLED and order.cancel_status == "cancelled"
    assert (order.cancelled_by, order.reason_code, order.cancel_requested_by) == (
        "marketplace",
        "CUSTOMER_REQUEST",
        user,
    )
    call = submit_call(order)
    assert call.status == OutboundCall.Status.SKIPPED and "before its submission left" in call.last_error
    assert not cancel_calls(order).exists()
    assert call_deliver(call.pk) == 0  # the worker finds nothing to send
    assert not [c for c in mocked_link.calls if "/v2/orders" in c.request.url]


def test_cancel_of_a_submitted_order_waits_for_links_200(submitted, mocked_link):
    order = cancel(submitted)
    assert order.state == S.PENDING and order.cancel_status == "requested"
    call = cancel_calls(order).get()
    assert (call.path, call.payload) == (
        "/v2/orders/ord_1/cancel",
        {"reason_code": "CUSTOMER_REQUEST", "reason": "changed mind"},
    )

    link_answers_cancel(mocked_link)
    call_deliver(call.pk, inline_wait=0)
    order.refresh_from_db()
    assert order.state == S.CANCELLED and order.cancel_status == "cancelled" and order.cancelled_by == "marketplace"
    assert order.reason_code == "CUSTOMER_REQUEST" and order.closed_at


def test_cancel_refused_by_link_409_stays_with_the_refusal_shown(submitted, mocked_link):
    order_event("order.confirmed", submitted)
    order = cancel(submitted)
    link_refuses_cancel(mocked_link, message="The order is READY.", status="READY")
    call_deliver(cancel_calls(order).get().pk, inline_wait=0)
    order.refresh_from_db()
    assert order.state == S.CONFIRMED and order.cancel_status == "refused"
    assert order.cancel_refused_at and "cancel_not_allowed" in order.cancel_refusal and "READY" in order.cancel_refusal


def test_cancel_409_saying_already_cancelled_means_cancelled(submitted, mocked_link):
    """A retried cancel whose first try got through: Link answers 409 with details.status CANCELLED."""
    order = cancel(submitted)
    link_refuses_cancel(mocked_link, message="Already cancelled.", status="CANCELLED")
    call_deliver(cancel_calls(order).get().pk, inline_wait=0)
    order.refresh_from_db()
    assert order.state == S.CANCELLED and order.cancel_refused_at is None


def test_asking_again_while_a_cancel_is_on_its_way_changes_nothing(submitted):
    cancel(submitted)
    cancel(submitted, reason="again")
    assert cancel_calls(submitted).count() == 1


def test_after_a_refusal_the_mp_may_ask_again(submitted, mocked_link):
    order = cancel(submitted)
    link_refuses_cancel(mocked_link, message="busy")
    call_deliver(cancel_calls(order).get().pk, inline_wait=0)
    order = cancel(order, reason="please")
    assert order.cancel_status == "requested" and order.cancel_refused_at is None and cancel_calls(order).count() == 2


@pytest.mark.parametrize("state", [S.READY, S.REJECTED, S.CANCELLED, S.FAILED])
def test_cancel_is_refused_once_the_order_ended(submitted, state):
    Order.objects.filter(pk=submitted.pk).update(state=state)
    with pytest.raises(OrderActionRefused) as exc:
        cancel(submitted)
    assert exc.value.code == "cancel_not_allowed" and "not yet ready" in exc.value.message
    assert not cancel_calls(submitted).exists()


def test_cancel_while_the_submission_is_in_flight_follows_links_201(store, mocked_link):
    order = place()
    claimed = call_claim(submit_call(order).pk)  # a worker has it: the POST may be reaching Link right now
    assert claimed is not None
    order = cancel(order)
    assert order.state == S.PENDING and order.cancel_status == "requested" and not cancel_calls(order).exists()
    assert submit_call(order).status == OutboundCall.Status.PENDING  # not skipped: it may have left

    # The worker's POST gets Link's 201: now that Link's id is known, the cancel call follows.
    link_answers_submit(mocked_link, order, "ord_9")
    call_send(claimed)
    order.refresh_from_db()
    assert order.link_order_id == "ord_9"
    call = cancel_calls(order).get()
    assert call.path == "/v2/orders/ord_9/cancel" and call.status == OutboundCall.Status.PENDING
    link_answers_cancel(mocked_link, "ord_9")
    call_deliver(call.pk, inline_wait=0)
    order.refresh_from_db()
    assert order.state == S.CANCELLED


def test_cancel_after_a_failed_try_follows_the_retry(store, mocked_link):
    """A try that left (5xx, maybe created on Link) counts as sent: the submit goes on, the cancel follows."""
    order = place()
    OutboundCall.objects.filter(pk=submit_call(order).pk).update(attempts=1, last_status_code=503)
    order = cancel(order)
    assert order.cancel_status == "requested" and submit_call(order).status == OutboundCall.Status.PENDING


def test_cancel_waiting_for_links_id_learns_it_from_an_event(store):
    order = place()
    call_claim(submit_call(order).pk)
    order = cancel(order)
    order_event("order.confirmed", order, order_id="ord_evt")
    assert order.state == S.CONFIRMED
    assert cancel_calls(order).get().path == "/v2/orders/ord_evt/cancel"


def test_cancel_requested_then_link_never_takes_the_order(store, mocked_link):
    order = place()
    claimed = call_claim(submit_call(order).pk)
    order = cancel(order)
    mocked_link.add(responses_lib.POST, f"{LINK}/v2/orders", json={"error": {"code": "invalid_order"}}, status=422)
    call_send(claimed)
    order.refresh_from_db()
    assert (
        order.state == S.CANCELLED and order.cancelled_by == "marketplace" and "invalid_order" in order.failure_reason
    )
    assert not cancel_calls(order).exists()


def test_ready_arriving_before_the_cancel_left_drops_it_and_shows_the_refusal(submitted):
    order = cancel(submitted)
    event = order_event("order.ready", order)
    assert event.status == WebhookEvent.Status.PROCESSED
    assert order.state == S.READY and order.cancel_status == "refused"
    assert "READY before the cancel" in order.cancel_refusal
    assert cancel_calls(order).get().status == OutboundCall.Status.SKIPPED


def test_restaurant_cancel_while_ours_is_waiting_satisfies_it(submitted):
    order = cancel(submitted)
    order_event("order.cancelled", order, reason_code="KITCHEN_BUSY", cancelled_by="restaurant")
    assert order.state == S.CANCELLED and order.cancelled_by == "restaurant"
    assert cancel_calls(order).get().status == OutboundCall.Status.SKIPPED


# --- confirm deadline ---------------------------------------------------------------------------


def age(order, seconds):
    past = timezone.now() - timedelta(seconds=seconds)
    Order.objects.filter(pk=order.pk).update(placed_at=past, pending_since=past)


def test_orders_not_confirmed_in_time_are_cancelled_unaccepted(submitted, mocked_link, settings, store):
    settings.LINK_CONFIRM_DEADLINE = 600
    fresh = link_takes(mocked_link, place(), "ord_2")
    confirmed = link_takes(mocked_link, place(), "ord_3")
    order_event("order.confirmed", confirmed)
    age(submitted, 601)
    age(fresh, 590)
    age(confirmed, 900)

    assert sweep()["unconfirmed_cancelled"] == 1
    submitted.refresh_from_db()
    assert submitted.cancel_status == "requested" and submitted.cancel_reason_code == "UNACCEPTED"
    call = cancel_calls(submitted).get()
    assert call.payload["reason_code"] == "UNACCEPTED"
    assert not cancel_calls(fresh).exists() and not cancel_calls(confirmed).exists()
    assert sweep()["unconfirmed_cancelled"] == 0  # asked once, not again

    link_answers_cancel(mocked_link)
    call_deliver(call.pk, inline_wait=0)
    submitted.refresh_from_db()
    assert submitted.state == S.CANCELLED and submitted.reason_code == "UNACCEPTED"


def test_unconfirmed_command_with_dry_run(submitted, capsys):
    age(submitted, 3600)
    call_command("link_cancel_unconfirmed", "--dry-run")
    assert submitted.external_order_id in capsys.readouterr().out
    assert not cancel_calls(submitted).exists()
    call_command("link_cancel_unconfirmed")
    assert "1 orders not confirmed within 600 s cancelled toward Link" in capsys.readouterr().out
    assert cancel_calls(submitted).count() == 1


def test_retried_submission_gets_a_fresh_confirm_deadline(submitted):
    Order.objects.filter(pk=submitted.pk).update(state=S.FAILED, placed_at=timezone.now() - timedelta(hours=2))
    order_retry_submission(submitted)
    assert sweep()["unconfirmed_cancelled"] == 0


# --- store disconnected ---------------------------------------------------------------------------


def test_disconnect_with_in_flight_cancel(store, mocked_link, post_event):
    unsent = place()
    submitted = link_takes(mocked_link, place(), "ord_2")
    preparing = link_takes(mocked_link, place(), "ord_3")
    order_event("order.preparing", preparing)
    ready = link_takes(mocked_link, place(), "ord_4")
    order_event("order.ready", ready)
    other_store = make_store("ven_2", "sf_2")
    elsewhere = place(order_request(store="sf_2"))

    resp = post_event(
        envelope("store.disconnected", {"reason": "contract ended", "in_flight": "cancel"}, venue_id="ven_1")
    )
    assert resp.status_code == 200, resp.content
    for order in (unsent, submitted, preparing, ready, elsewhere):
        order.refresh_from_db()
    assert [o.state for o in (unsent, submitted, preparing, ready)] == [S.CANCELLED, S.CANCELLED, S.CANCELLED, S.READY]
    assert submitted.reason_code == "STORE_DISCONNECTED" and "contract ended" in submitted.reason
    assert submit_call(unsent).status == OutboundCall.Status.SKIPPED and not cancel_calls(unsent).exists()
    assert [c.path for c in cancel_calls(submitted)] == ["/v2/orders/ord_2/cancel"]
    assert [c.path for c in cancel_calls(preparing)] == ["/v2/orders/ord_3/cancel"]
    assert not cancel_calls(ready).exists()
    assert elsewhere.state == S.PENDING and other_store.state == Store.State.ACTIVE

    # Link answers 409 (it cancelled them itself): the orders stay CANCELLED, nothing is "refused".
    link_refuses_cancel(mocked_link, "ord_2", status="CANCELLED")
    call_deliver(cancel_calls(submitted).get().pk, inline_wait=0)
    submitted.refresh_from_db()
    assert submitted.state == S.CANCELLED and submitted.cancel_refused_at is None


def test_disconnect_reads_the_store_once_however_many_orders_it_cancels(store, mocked_link, post_event):
    for n in range(3):
        link_takes(mocked_link, place(), f"ord_{n}")
    with CaptureQueriesContext(connection) as queries:
        post_event(envelope("store.disconnected", {"reason": "", "in_flight": "cancel"}, venue_id="ven_1"))
    store_reads = [q["sql"] for q in queries if q["sql"].startswith('SELECT "integration_store"')]
    assert len(store_reads) == 1, store_reads  # the locked lookup of the venue
    assert cancel_calls(Order.objects.get(link_order_id="ord_2")).exists()


def test_disconnect_with_in_flight_complete_leaves_orders_alone(submitted, post_event):
    post_event(envelope("store.disconnected", {"reason": "moving", "in_flight": "complete"}, venue_id="ven_1"))
    submitted.refresh_from_db()
    assert submitted.state == S.PENDING and not cancel_calls(submitted).exists()
    order_event("order.ready", submitted)
    assert submitted.state == S.READY


def test_disconnect_cancels_an_order_in_flight_and_the_cancel_follows_its_201(store, mocked_link, post_event):
    order = place()
    claimed = call_claim(submit_call(order).pk)
    post_event(envelope("store.disconnected", {"reason": "", "in_flight": "cancel"}, venue_id="ven_1"))
    order.refresh_from_db()
    assert order.state == S.CANCELLED and not cancel_calls(order).exists()
    link_answers_submit(mocked_link, order, "ord_late")
    call_send(claimed)
    assert [c.path for c in cancel_calls(order)] == ["/v2/orders/ord_late/cancel"]


# --- retry submission -----------------------------------------------------------------------------


def test_retry_submission_of_a_failed_order(store, mocked_link):
    order = place()
    mocked_link.add(
        responses_lib.POST, f"{LINK}/v2/orders", json={"error": {"code": "store_not_accepting"}}, status=409
    )
    call_deliver(submit_call(order).pk, inline_wait=0)
    order.refresh_from_db()
    assert order.state == S.FAILED
    first_call = submit_call(order)

    order_retry_submission(order, user=api_user("ops"))
    order.refresh_from_db()
    assert order.state == S.PENDING and order.failure_reason == ""
    retry = submit_call(order)
    assert retry.pk != first_call.pk and retry.idempotency_key == order.external_order_id
    assert retry.payload == first_call.payload
    order = link_takes(mocked_link, order, "ord_retry")
    assert order.link_order_id == "ord_retry"


def test_retry_submission_is_refused_unless_failed_and_the_store_accepts(submitted):
    with pytest.raises(OrderActionRefused, match="only failed orders"):
        order_retry_submission(submitted)
    Order.objects.filter(pk=submitted.pk).update(state=S.FAILED)
    Store.objects.update(state=Store.State.PAUSED, pause_reason="closed early")
    with pytest.raises(OrderActionRefused, match="closed early"):
        order_retry_submission(submitted)


def test_cancel_call_payload_is_what_link_expects(submitted, mocked_link):
    order = cancel(submitted, code="FRAUD", reason="stolen card")
    link_answers_cancel(mocked_link)
    call_deliver(cancel_calls(order).get().pk, inline_wait=0)
    sent = next(c.request for c in mocked_link.calls if c.request.url.endswith("/cancel"))
    assert json.loads(sent.body) == {"reason_code": "FRAUD", "reason": "stolen card"}

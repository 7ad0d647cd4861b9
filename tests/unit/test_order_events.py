"""Link's order events: forward only, skipping ahead allowed, final states hold, every transition logged."""

import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django_fsm_log.models import StateLog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.models import Order, OutboundCall, WebhookEvent
from tests.factories import OrderFactory, StoreFactory
from tests.order_fixtures import api_client, api_user, link_takes, make_store, order_event, place, submit_call

pytestmark = pytest.mark.django_db

S = Order.State


@pytest.fixture
def order():
    """An order Link took, as ord_1."""
    return OrderFactory(store=StoreFactory(venue_id="ven_1"), submitted=True, link_order_id="ord_1")


def logs(order):
    return list(
        StateLog.objects.filter(content_type=ContentType.objects.get_for_model(Order), object_id=order.pk).order_by(
            "timestamp", "pk"
        )
    )


def test_happy_path_records_each_transition_with_its_event(order):
    confirmed = order_event(
        "order.confirmed", order, prep_time_minutes=15, estimated_ready_at="2026-11-27T12:20:00Z", event_id="evt_c"
    )
    assert confirmed.status == WebhookEvent.Status.PROCESSED
    assert order.state == S.CONFIRMED and order.prep_time_minutes == 15 and order.confirmed_at
    assert order.estimated_ready_at.isoformat() == "2026-11-27T12:20:00+00:00"
    order_event("order.preparing", order, estimated_ready_at="2026-11-27T12:25:00Z", event_id="evt_p")
    assert order.state == S.IN_PREP and order.estimated_ready_at.minute == 25
    order_event("order.ready", order, ready_at="2026-11-27T12:24:00Z", event_id="evt_r")
    assert order.state == S.READY and order.ready_at.minute == 24 and order.closed_at and order.link_status == "READY"
    assert [(log.source_state, log.state, log.description) for log in logs(order)] == [
        ("PENDING", "CONFIRMED", "Link event order.confirmed evt_c"),
        ("CONFIRMED", "IN_PREP", "Link event order.preparing evt_p"),
        ("IN_PREP", "READY", "Link event order.ready evt_r"),
    ]


def test_a_bare_eta_change_updates_the_eta_only(order):
    order_event("order.preparing", order, estimated_ready_at="2026-11-27T12:25:00Z")
    event = order_event("order.preparing", order, estimated_ready_at="2026-11-27T12:40:00Z")
    assert event.status == WebhookEvent.Status.PROCESSED
    assert order.state == S.IN_PREP and order.estimated_ready_at.minute == 40
    assert len(logs(order)) == 1


def test_stale_event_never_moves_an_order_back(order):
    order_event("order.preparing", order)
    stale = order_event("order.confirmed", order, prep_time_minutes=12, estimated_ready_at="2026-11-27T13:00:00Z")
    assert stale.status == WebhookEvent.Status.IGNORED and stale.status_reason == "stale: order already IN_PREP"
    assert order.state == S.IN_PREP
    assert order.prep_time_minutes == 12  # a late confirm still tells the prep time ...
    assert order.estimated_ready_at is None  # ... but not an older ETA


def test_skipping_ahead_is_allowed(order):
    order_event("order.ready", order)
    assert order.state == S.READY and order.confirmed_at is not None
    assert [(log.source_state, log.state) for log in logs(order)] == [("PENDING", "READY")]


@pytest.mark.parametrize("final", ["order.ready", "order.rejected", "order.cancelled"])
@pytest.mark.parametrize("late", ["order.confirmed", "order.preparing", "order.ready", "order.rejected"])
def test_final_states_hold(order, final, late):
    order_event(final, order, reason_code="KITCHEN_BUSY")
    state = order.state
    event = order_event(late, order, reason_code="OTHER")
    assert event.status == WebhookEvent.Status.IGNORED
    assert event.status_reason in (f"stale: order already {state}", f"duplicate: order already {state}")
    assert order.state == state


def test_rejection_keeps_links_reason(order):
    order_event("order.rejected", order, reason_code="ITEM_UNAVAILABLE", reason="Out of buns")
    assert (order.state, order.reason_code, order.reason) == (S.REJECTED, "ITEM_UNAVAILABLE", "Out of buns")


def test_cancel_by_the_restaurant(order):
    order_event("order.preparing", order)
    order_event("order.cancelled", order, reason_code="KITCHEN_BUSY", reason="Oven broke", cancelled_by="restaurant")
    assert (order.state, order.cancelled_by, order.reason_code) == (S.CANCELLED, "restaurant", "KITCHEN_BUSY")


def test_cancel_after_ready_is_recorded_not_applied(order):
    order_event("order.ready", order)
    event = order_event("order.cancelled", order, reason_code="OTHER", cancelled_by="restaurant")
    assert event.status == WebhookEvent.Status.IGNORED
    assert event.status_reason == "cancel after READY: recorded, not applied"
    assert order.state == S.READY and order.cancelled_by == ""
    back_office = api_client(api_user("back-office", permissions=["see_all_orders"]))  # the order is not its own
    timeline = back_office.get(f"/api/v1/orders/{order.external_order_id}/").json()["timeline"]
    assert any(e["kind"] == "event" and "cancel after READY" in e["detail"] for e in timeline)


def test_duplicate_event_id_is_applied_once(order):
    order_event("order.confirmed", order, event_id="evt_same")
    Order.objects.filter(pk=order.pk).update(prep_time_minutes=99)
    order_event("order.confirmed", order, event_id="evt_same", prep_time_minutes=5)
    order.refresh_from_db()
    assert order.prep_time_minutes == 99 and WebhookEvent.objects.get(event_id="evt_same").attempts == 1


def test_unknown_external_order_id_is_ignored_with_reason(order):
    stranger = Order(external_order_id="mp_stranger", link_order_id="ord_x")
    event = order_event("order.confirmed", stranger)
    assert event.status == WebhookEvent.Status.IGNORED
    assert event.status_reason == "unknown order mp_stranger: not placed through this marketplace"


def test_event_naming_another_venue_is_ignored(order):
    event = order_event("order.ready", order, venue_id="ven_other")
    assert event.status == WebhookEvent.Status.IGNORED and event.status_reason.startswith("venue mismatch")
    assert order.state == S.PENDING


def test_event_naming_another_link_order_id_is_ignored(order):
    event = order_event("order.ready", order, order_id="ord_other")
    assert event.status == WebhookEvent.Status.IGNORED and event.status_reason.startswith("order_id mismatch")
    assert order.state == S.PENDING


def test_confirmed_before_links_201_is_processed(mocked_link):
    """The webhook can beat our worker to Link's 201: the event fills link_order_id, the 201 then agrees."""
    make_store()
    order = place()
    assert order.link_order_id is None and submit_call(order).status == OutboundCall.Status.PENDING
    event = order_event("order.confirmed", order, order_id="ord_early", prep_time_minutes=10)
    assert event.status == WebhookEvent.Status.PROCESSED
    assert (order.state, order.link_order_id, order.link_status) == (S.CONFIRMED, "ord_early", "SENT")

    order = link_takes(mocked_link, order, "ord_early")
    assert order.state == S.CONFIRMED and order.link_order_id == "ord_early" and order.submitted_at
    assert order.link_status == "SENT"  # the 201's INIT is older news than the confirm


LIFECYCLES = [
    ["order.confirmed", "order.preparing", "order.preparing", "order.ready"],
    ["order.confirmed", "order.preparing", "order.cancelled"],
    ["order.confirmed", "order.rejected"],
    ["order.rejected"],
    ["order.confirmed", "order.preparing"],
    ["order.preparing", "order.ready"],
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_arrival_order_and_duplication_ends_like_the_in_order_sequence(order, data):
    lifecycle = data.draw(st.sampled_from(LIFECYCLES), label="lifecycle")
    # Fresh orders per example, so examples do not share state.
    fresh, reference = OrderFactory.create_batch(2, store=order.store, submitted=True)

    events = [(f"evt_{uuid.uuid4().hex[:12]}", event_type) for event_type in lifecycle]
    for event_id, event_type in events:
        order_event(event_type, reference, event_id=f"{event_id}_ref", reason_code="OTHER")

    arrivals = data.draw(st.permutations(events), label="arrival order")
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=6), label="duplicates")
    positions = data.draw(
        st.lists(st.integers(0, len(arrivals) + len(duplicates)), min_size=len(duplicates), max_size=len(duplicates))
    )
    arrivals = list(arrivals)
    for duplicate, position in zip(duplicates, positions, strict=True):
        arrivals.insert(position, duplicate)
    for event_id, event_type in arrivals:
        order_event(event_type, fresh, event_id=event_id, reason_code="OTHER")

    assert fresh.state == reference.state
    assert bool(fresh.closed_at) == bool(reference.closed_at)
    assert fresh.reason_code == reference.reason_code
    statuses = set(
        WebhookEvent.objects.filter(external_order_id=fresh.external_order_id).values_list("status", flat=True)
    )
    assert statuses <= {WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED}


def test_event_for_an_order_failed_here_is_ignored_with_a_way_out(order):
    Order.objects.filter(pk=order.pk).update(state=S.FAILED, link_order_id=None)
    event = order_event("order.confirmed", order, order_id="ord_1")
    assert event.status == WebhookEvent.Status.IGNORED and "retry its submission" in event.status_reason
    assert order.state == S.FAILED and order.link_order_id == "ord_1"  # kept for ops

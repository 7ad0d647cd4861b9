"""``order_state_changed`` goes out after commit, once per state change, with the cause."""

import pytest
from django.db import transaction

from integration.models import Order
from integration.services.orders.cancellation import order_cancel
from integration.services.orders.transitions import move, order_save
from integration.signals import order_state_changed
from tests.factories import OrderFactory, StoreFactory
from tests.order_fixtures import order_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    order_state_changed.connect(receiver)
    yield seen
    order_state_changed.disconnect(receiver)


@pytest.fixture
def order():
    """An order Link took, as ord_1."""
    return OrderFactory(store=StoreFactory(venue_id="ven_1"), submitted=True, link_order_id="ord_1")


def test_sent_on_commit_with_old_new_and_cause(order, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = order_event("order.ready", order, event_id="evt_ready")
    assert received == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert received == [
        {
            "signal": order_state_changed,
            "order_id": order.pk,
            "external_order_id": order.external_order_id,
            "old_state": "PENDING",
            "new_state": "READY",
            "cause": f"Link event order.ready {event.event_id}",
        }
    ]


def test_not_sent_when_the_change_rolls_back(order, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                order_cancel(order, reason_code="OTHER", reason="")  # records a request, no state change
                order.refresh_from_db()
                move(order, "confirm", "test")
                order_save(order)
                order_event("order.ready", order)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert received == []
    assert Order.objects.get(pk=order.pk).state == Order.State.PENDING


def test_not_sent_for_ignored_events(order, received, django_capture_on_commit_callbacks):
    order_event("order.ready", order)
    with django_capture_on_commit_callbacks(execute=True):
        order_event("order.cancelled", order)
        order_event("order.confirmed", order)
    assert received == []


def test_a_failing_receiver_neither_breaks_the_caller_nor_other_receivers(
    order, received, django_capture_on_commit_callbacks
):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    order_state_changed.connect(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            event = order_event("order.confirmed", order)
    finally:
        order_state_changed.disconnect(broken)
    assert event.status == "PROCESSED" and [r["new_state"] for r in received] == ["CONFIRMED"]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_real_commit_sends_it_once_per_change(received, order):
    order_event("order.confirmed", order)
    order_event("order.preparing", order)
    order_event("order.preparing", order)  # an ETA change: no state change, no signal
    assert [(r["old_state"], r["new_state"]) for r in received] == [("PENDING", "CONFIRMED"), ("CONFIRMED", "IN_PREP")]

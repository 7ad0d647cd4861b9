"""``order_public`` (what MP events carry, built without the API layer) is what the API's ``OrderSerializer`` shows."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from integration.api.orders import OrderSerializer
from integration.models import Order, Store
from integration.selectors.orders import order_public
from integration.services.orders.cancellation import order_cancel
from tests.order_fixtures import burger_line, link_takes, make_store, mod, order_event, order_request, place

pytestmark = pytest.mark.django_db


def same_as_the_api(order: Order) -> None:
    assert order_public(order) == OrderSerializer(order).data


def test_a_placed_order_with_lines_and_nested_modifiers(mocked_link):
    make_store()
    double = mod("mod_double", "mg_size", modifiers=[mod("mod_extra_patty_cheese", "mg_double_extras")])
    body = order_request(
        items=[burger_line(modifiers=[double]), {"item_id": "itm_soda", "quantity": 1}],
        fulfillment={"type": "pickup", "scheduled_for": (timezone.now() + timedelta(hours=2)).isoformat()},
        notes="ring twice",
    )
    order = place(body)
    same_as_the_api(order)
    same_as_the_api(Order.objects.get(pk=order.pk))
    assert order_public(order)["lines"][0]["modifiers"][0]["modifiers"]


def test_an_order_through_its_life_and_a_refused_cancel(mocked_link):
    make_store()
    order = link_takes(mocked_link, place(), "ord_1")
    same_as_the_api(order)
    order_event("order.confirmed", order, prep_time_minutes=15, estimated_ready_at="2026-11-27T12:20:00Z")
    same_as_the_api(order)
    order_cancel(order, reason_code="CUSTOMER_REQUEST", reason="changed mind")
    order_event("order.ready", order, ready_at="2026-11-27T12:24:00Z")
    assert order.cancel_refused_at is not None
    same_as_the_api(order)


def test_an_unmapped_store_a_failed_order_and_times_in_another_zone(mocked_link, settings):
    store = make_store()
    order = place()
    Store.objects.filter(pk=store.pk).update(external_store_id=None)
    Order.objects.filter(pk=order.pk).update(state=Order.State.FAILED, failure_reason="Link answered 422")
    order = Order.objects.select_related("store").get(pk=order.pk)
    same_as_the_api(order)
    order.estimated_ready_at = "2026-11-27T12:20:00Z"  # an event's value before the save parses it
    order.ready_at = datetime(2026, 11, 27, 12, 24, tzinfo=timezone.get_fixed_timezone(60))
    same_as_the_api(order)
    with timezone.override("America/New_York"):
        same_as_the_api(order)

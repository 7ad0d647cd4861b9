"""One cancel-status rule: the property on a loaded order and ``Order.objects.cancel_status()`` in SQL agree."""

import itertools

import pytest
from django.utils import timezone

from integration.models import Order
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

CS = Order.CancelStatus


def test_every_state_and_cancel_field_combination_selects_as_the_property_says():
    store, now = StoreFactory(), timezone.now()
    orders = [
        Order.objects.create(
            store=store,
            placed_at=now,
            state=state,
            cancel_requested_at=now if requested else None,
            cancel_refused_at=now if refused else None,
        )
        for state, requested, refused in itertools.product(Order.State.values, (False, True), (False, True))
    ]
    selected = {status: set(Order.objects.cancel_status(status).values_list("pk", flat=True)) for status in CS}
    for order in orders:
        assert [s for s in CS if order.pk in selected[s]] == [order.cancel_status], (order.state, order.cancel_status)
    assert all(selected.values())  # every status occurs among the combinations

"""The orders admin's cancel filter selects by the model's one cancel-status rule."""

import pytest
from django.urls import reverse
from django.utils import timezone

from integration.models import Order
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_the_admin_cancel_filter_lists_what_the_cancel_column_shows(client, ops):
    store, now = StoreFactory(), timezone.now()
    refused = Order.objects.create(store=store, placed_at=now, cancel_requested_at=now, cancel_refused_at=now)
    # Link refused the MP's cancel, then the restaurant cancelled the order itself: "cancelled", not "refused".
    ended = Order.objects.create(
        store=store, placed_at=now, state=Order.State.CANCELLED, cancel_requested_at=now, cancel_refused_at=now
    )
    page = client.get(reverse("admin:integration_order_changelist"), {"cancel": Order.CancelStatus.REFUSED})
    assert refused.external_order_id in page.content.decode()
    assert ended.external_order_id not in page.content.decode()

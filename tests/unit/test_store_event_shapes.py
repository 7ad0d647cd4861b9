"""Issue 23 H18: the scale seed's ``store.accepting_changed`` rows had another shape than the product's, and
``store_accepting_announce`` (reading the last one back) answered 500 with KeyError: 'reason'."""

import pytest
from django.utils import timezone

from integration.models import NotificationEvent
from integration.services.mp_events import events as n
from tests.factories import OrderFactory
from tests.order_fixtures import api_user, make_store

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "old",
    [{"store": 1, "accepting": False}, {"store": 1}, {"accepting": False, "reason": None}],
    ids=["scale-seed-shape", "no-accepting", "null-reason"],
)
def test_h18_an_older_shape_of_the_last_announcement_is_read_with_defaults(old):
    store = make_store()
    NotificationEvent.objects.create(type=n.STORE_ACCEPTING_CHANGED, store=store, timestamp=timezone.now(), data=old)
    event = n.store_accepting_announce(store)  # the store is open: it starts accepting
    assert event is not None and (event.data["accepting"], event.data["reason"]) == (True, "accepting")


@pytest.mark.postgres_only
def test_h18_the_scale_seed_writes_store_events_in_the_products_shape():
    from tests.bench.scale_seed import FEED_PREFIX, seed_feed

    store = make_store()
    for pk in (50, 100):
        OrderFactory(id=pk, store=store, external_order_id=f"ord_seed_{pk}")
    seed_feed(api_user("bench-scale").pk)
    seeded = {e.data["accepting"]: e.data for e in NotificationEvent.objects.filter(type=n.STORE_ACCEPTING_CHANGED)}
    assert set(seeded) == {True, False}
    assert all(e.event_id.startswith(FEED_PREFIX) for e in NotificationEvent.objects.all())

    NotificationEvent.objects.all().delete()
    n.store_accepting_announce(store)  # the product's own
    product = NotificationEvent.objects.get(type=n.STORE_ACCEPTING_CHANGED).data
    for data in seeded.values():
        assert set(data) == set(product)
        assert data["store"] == product["store"]
    assert (seeded[True]["reason"], seeded[False]["reason"]) == ("resumed", "paused")

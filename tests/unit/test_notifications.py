"""Events for MP services: what each change announces, to whom, with which order data and sequence."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from integration.api.orders import OrderSerializer
from integration.models import NotificationEvent, Order, OutboundCall, WebhookEndpoint
from integration.services import notifications as n
from integration.services import stores as store_services
from integration.services.orders.cancellation import order_cancel
from integration.services.retention import retention_prune
from tests.order_fixtures import api_client, api_user, link_takes, make_store, order_event, place
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def hosts(settings):
    settings.MP_WEBHOOK_HOSTS = ["hooks.mp.test", "127.0.0.1"]


def endpoint(client, event_types=n.EVENT_TYPES, url="https://hooks.mp.test/in"):
    return WebhookEndpoint.objects.create(client=client, url=url, event_types=list(event_types))


def events_of(order):
    return list(NotificationEvent.objects.filter(order=order).order_by("id"))


def deliveries(ep):
    return OutboundCall.objects.filter(kind=OutboundCall.Kind.DELIVER_EVENT, endpoint=ep).order_by("id")


@pytest.fixture
def store():
    return make_store()


def test_an_order_announces_each_step_with_its_data_and_a_growing_sequence(store, mocked_link):
    checkout = api_user()
    ep = endpoint(checkout)
    order = place(user=checkout)
    assert events_of(order) == []  # placing is not news: Link taking it is
    link_takes(mocked_link, order, "ord_1")
    order_event(
        "order.confirmed", order, prep_time_minutes=15, estimated_ready_at="2026-11-27T12:20:00Z", event_id="evt_c"
    )
    order_event("order.preparing", order, estimated_ready_at="2026-11-27T12:25:00Z", event_id="evt_p")
    order_event("order.ready", order, event_id="evt_r")
    events = events_of(order)
    assert [e.type for e in events] == [
        n.ORDER_SUBMITTED,
        n.ORDER_CONFIRMED,
        n.ORDER_PREPARING,
        n.ORDER_ETA_CHANGED,
        n.ORDER_READY,
    ]
    assert [e.data["sequence"] for e in events] == [1, 2, 3, 4, 5]
    confirmed = events[1].data
    assert confirmed["prep_time_minutes"] == 15 and confirmed["times"]["estimated_ready_at"] == "2026-11-27T12:20:00Z"
    assert confirmed["state"] == Order.State.CONFIRMED
    order.refresh_from_db()
    assert events[-1].data == {**OrderSerializer(order).data, "sequence": 5}
    assert {e.client_id for e in events} == {checkout.pk}
    assert list(deliveries(ep).values_list("event_id", flat=True)) == [e.pk for e in events]
    assert all(d.status == OutboundCall.Status.PENDING and d.path == ep.url for d in deliveries(ep))


def test_rejected_and_cancel_refused_carry_the_reason(store, mocked_link):
    checkout = api_user()
    order = link_takes(mocked_link, place(user=checkout), "ord_1")
    order_event("order.rejected", order, reason_code="ITEM_UNAVAILABLE", reason="out of buns", event_id="evt_x")
    rejected = events_of(order)[-1]
    assert rejected.type == n.ORDER_REJECTED
    assert (rejected.data["reason_code"], rejected.data["reason"]) == ("ITEM_UNAVAILABLE", "out of buns")

    other = link_takes(mocked_link, place(user=checkout), "ord_2")
    order_cancel(other, reason_code="CUSTOMER_REQUEST", user=checkout)
    order_event("order.ready", other, event_id="evt_ready")  # READY first: the cancel cannot take effect
    assert [e.type for e in events_of(other)][-2:] == [n.ORDER_READY, n.ORDER_CANCEL_REFUSED]
    assert events_of(other)[-1].data["cancel"]["status"] == "refused"


def test_a_failed_submission_announces_order_failed(store, mocked_link):
    import responses as responses_lib

    from integration.services.outbound import call_deliver
    from tests.conftest import LINK
    from tests.order_fixtures import submit_call

    order = place(user=api_user())
    mocked_link.add(
        responses_lib.POST, f"{LINK}/v2/orders", json={"error": {"code": "store_closed", "message": "no"}}, status=422
    )
    call_deliver(submit_call(order).pk, inline_wait=0)
    assert [e.type for e in events_of(order)] == [n.ORDER_FAILED]


def test_an_event_rolled_back_with_its_change_leaves_no_trace(store, mocked_link):
    from django.db import transaction

    order = link_takes(mocked_link, place(user=api_user()), "ord_1")
    before = NotificationEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        locked.confirm(description="test")
        locked.save()
        assert NotificationEvent.objects.count() == before + 1
        raise RuntimeError("the change fails after the event was built")
    assert NotificationEvent.objects.count() == before
    assert not OutboundCall.objects.filter(kind=OutboundCall.Kind.DELIVER_EVENT, event__isnull=True).exists()


def test_order_events_go_only_to_the_placing_clients_endpoints(store, mocked_link):
    alice, bob = api_user("alice"), api_user("bob")
    alice_ep, bob_ep = endpoint(alice), endpoint(bob)
    only_ready = endpoint(alice, [n.ORDER_READY])
    order = link_takes(mocked_link, place(user=alice), "ord_1")
    order_event("order.ready", order, event_id="evt_r")
    assert deliveries(alice_ep).count() == 2
    assert not deliveries(bob_ep).exists()
    assert [d.event.type for d in deliveries(only_ready)] == [n.ORDER_READY]


def test_an_order_without_a_client_announces_nothing(store, mocked_link):
    order = link_takes(mocked_link, place(), "ord_1")
    assert order.created_by_id is None and events_of(order) == []


def test_store_events_go_to_every_subscribed_endpoint_with_the_reason(store):
    alice_ep, bob_ep = endpoint(api_user("alice")), endpoint(api_user("bob"))
    orders_only = endpoint(api_user("carol"), [n.ORDER_READY])
    n.store_accepting_announce(store)  # the store is open: its first announcement
    store_services.store_pause(store, reason="oven broken")
    store.refresh_from_db()
    store_services.store_resume(store)
    changes = list(NotificationEvent.objects.filter(type=n.STORE_ACCEPTING_CHANGED).order_by("id"))
    assert [(e.data["accepting"], e.data["reason"]) for e in changes] == [
        (True, "accepting"),
        (False, "paused"),
        (True, "resumed"),
    ]
    assert changes[1].data["detail"] == "paused: oven broken"
    assert changes[1].data["store"] == {"external_store_id": "sf_1", "venue_id": "ven_1", "name": store.name}
    assert deliveries(alice_ep).count() == deliveries(bob_ep).count() == 3
    assert not deliveries(orders_only).exists()


def test_an_unpublished_menu_announces_the_menu_and_the_store(store, post_event):
    from tests.conftest import envelope

    n.store_accepting_announce(store)
    menu = store.menu
    post_event(envelope("menu.unpublished", {"menu_id": menu.menu_id}, venue_id="ven_1"))
    types = list(NotificationEvent.objects.order_by("id").values_list("type", "data__change", "data__reason"))
    assert types[-2:] == [(n.MENU_UPDATED, "unpublished", None), (n.STORE_ACCEPTING_CHANGED, None, "menu_unpublished")]


def test_availability_changes_list_what_changed(store, post_event):
    from tests.conftest import envelope

    body = {"menu_id": store.menu.menu_id, "items": [{"id": "itm_fries", "available": False}], "modifiers": []}
    later = (timezone.now() + timedelta(seconds=1)).isoformat()
    assert (
        post_event(envelope("menu.availability_changed", body, venue_id="ven_1", created_at=later)).status_code == 200
    )
    event = NotificationEvent.objects.get(type=n.MENU_UPDATED)
    assert event.data["change"] == "availability"
    assert event.data["items"] == [{"id": "itm_fries", "available": False}]


def test_the_feed_lists_a_clients_events_oldest_first_and_never_anothers(store, mocked_link):
    alice, bob = api_user("alice"), api_user("bob")
    order = link_takes(mocked_link, place(user=alice), "ord_1")
    order_event("order.ready", order, event_id="evt_r")
    n.store_accepting_announce(store)
    bobs = link_takes(mocked_link, place(user=bob), "ord_2")

    def feed(user, **query):
        answer = api_client(user).get("/api/v1/events/", query)
        assert answer.status_code == 200, answer.content
        return answer.json()["data"]

    alice_feed = feed(alice)
    assert [e["type"] for e in alice_feed] == [n.ORDER_SUBMITTED, n.ORDER_READY, n.STORE_ACCEPTING_CHANGED]
    assert [e["type"] for e in feed(bob)] == [n.STORE_ACCEPTING_CHANGED, n.ORDER_SUBMITTED]
    assert all(e["data"].get("external_order_id") != bobs.external_order_id for e in alice_feed)
    after = api_client(alice).get("/api/v1/events/", {"limit": 1}).json()["next"]
    assert [e["id"] for e in feed(alice, after=after, limit=1)] == [alice_feed[1]["id"]]


def test_retention_prunes_old_events_with_their_deliveries_but_keeps_an_orders_last(store, mocked_link, settings):
    settings.RETAIN_MP_EVENT_DAYS = 7
    for name in ("RETAIN_WEBHOOK_DAYS", "RETAIN_CALL_ATTEMPT_DAYS", "RETAIN_TASK_DAYS", "RETAIN_ORDER_DAYS"):
        setattr(settings, name, None)
    ep = endpoint(api_user())
    order = link_takes(mocked_link, place(user=ep.client), "ord_1")
    old = events_of(order)[0]
    order_event("order.ready", order, event_id="evt_r")
    week_ago = timezone.now() - timedelta(days=8)
    NotificationEvent.objects.update(timestamp=week_ago)
    OutboundCall.objects.filter(kind=OutboundCall.Kind.DELIVER_EVENT).update(status=OutboundCall.Status.SUCCEEDED)
    n.store_accepting_announce(store)
    in_play = NotificationEvent.objects.get(type=n.STORE_ACCEPTING_CHANGED)
    NotificationEvent.objects.filter(pk=in_play.pk).update(timestamp=week_ago)  # its delivery is still pending

    assert [(p.table, p.rows) for p in retention_prune()] == [("events for MP services (feed, deliveries)", 1)]
    assert not NotificationEvent.objects.filter(pk=old.pk).exists()
    assert [d.event.type for d in deliveries(ep)] == [n.ORDER_READY, n.STORE_ACCEPTING_CHANGED]
    order_event("order.cancelled", order, event_id="evt_c", reason_code="OTHER", cancelled_by="link")
    assert [e.sequence for e in events_of(order)] == [2]  # READY holds: the cancel is not news, nothing lost
    loaded = Order.objects.get(pk=order.pk)
    loaded.estimated_ready_at = timezone.now()
    loaded.save()
    assert [e.sequence for e in events_of(order)] == [2, 3]  # the sequence goes on from the kept event


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_feed_never_skips_an_event_whose_transaction_commits_after_a_later_one():
    """A transaction that wrote an event and is still open holds the feed back: a consumer that read then would
    otherwise have moved its cursor past that event before it was committed."""
    wrote, commit = threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                n.event_emit(n.MENU_UPDATED, {"n": 1})
                wrote.set()
                assert commit.wait(10)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert wrote.wait(10)
    n.event_emit(n.MENU_UPDATED, {"n": 2})  # a later transaction, committed first
    assert n.events_page(NotificationEvent.objects.all()) == []
    commit.set()
    writer.join(10)

    def both():
        page = n.events_page(NotificationEvent.objects.all())
        return len(page) >= 2 and page

    # The horizon is the server's: any write transaction still open on it, in another database too (a
    # concurrent test run's test, seen holding one for 65 s on a shared machine), holds the feed back until it ends.
    events = wait_for(both, timeout=120, what="both events in the feed (or another write transaction on the server)")
    assert [e.data["n"] for e in events] == [1, 2]
    assert n.events_page(NotificationEvent.objects.all(), after=(events[0].txid, events[0].pk)) == events[1:]

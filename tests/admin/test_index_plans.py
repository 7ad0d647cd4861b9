"""Issue 16: the queries behind the board, the lists' pages and searches use their indexes (PostgreSQL plans).

20,000 orders and as many events seeded with ``INSERT ... SELECT generate_series`` (a few hundred open, the rest
final), ANALYZEd; each query's EXPLAIN must name an index of its table and scan no big table whole.
"""

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from integration.link.routes import UNACCEPTED
from integration.models import Order, WebhookEvent
from integration.selectors.board import COLUMNS
from tests.bench.admin import _insert_series
from tests.factories import StoreFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]

N = 20_000


@pytest.fixture
def seeded():
    store = StoreFactory()
    params = {"store": store.pk, "now": timezone.now()}
    placed = "%(now)s::timestamptz - i * interval '1 minute'"
    _insert_series(
        Order,
        N,
        {
            "external_order_id": "'mp_plan_' || i",
            "link_order_id": "CASE WHEN mod(i, 7) <> 0 THEN 'ord_plan_' || i END",
            "display_code": "upper(substr(md5(i::text), 1, 6))",
            "store_id": "%(store)s",
            "state": "CASE WHEN i < 300 THEN 'PENDING' WHEN mod(i, 10) = 0 THEN 'FAILED' ELSE 'READY' END",
            "cancel_reason_code": "CASE WHEN mod(i, 97) = 0 THEN 'UNACCEPTED' ELSE '' END",
            "customer_name": "'Customer ' || md5(i::text)",
            "customer_phone": "'+1555' || lpad(i::text, 7, '0')",
            "placed_at": placed,
            "updated_at": placed,
        },
        params,
    )
    _insert_series(
        WebhookEvent,
        N,
        {
            "event_id": "'evt_plan_' || i",
            "type": "'order.ready'",
            "venue_id": "'ven_plan'",
            "external_order_id": "'mp_plan_' || i",
            "body": "'{}'",
            "status": "CASE WHEN mod(i, 50) = 0 THEN 'IGNORED' ELSE 'PROCESSED' END",
            "received_at": placed,
        },
        params,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE integration_order")
        cursor.execute("ANALYZE integration_webhookevent")
    return Order.objects.order_by("pk")[N // 2]


def plan(queryset) -> str:
    text = queryset.explain()
    assert "Seq Scan on integration_order" not in text and "Seq Scan on integration_webhookevent" not in text, text
    return text


def test_the_order_board_reads_open_orders_by_index(seeded):
    open_orders = Order.objects.filter(state__in=Order.OPEN_STATES)
    for _, _, _, condition in COLUMNS:
        assert "Index" in plan(open_orders.filter(condition).order_by("placed_at", "pk")[:30])


def test_the_order_list_pages_walk_the_time_index(seeded):
    assert "Index Scan Backward using order_placed_id" in plan(Order.objects.all()[:101])
    at, pk = seeded.placed_at, seeded.pk
    older = Order.objects.filter(placed_at__lte=at).exclude(placed_at=at, pk__gte=pk)
    assert "Index Scan Backward using order_placed_id" in plan(older[:101])
    assert "order_state_placed" in plan(older.filter(state="FAILED")[:101])


def test_a_store_and_the_unaccepted_filter_use_an_index_without_one_of_their_own(seeded):
    another_store = StoreFactory()  # one of thousands: few of the orders are its own
    assert "order_store_state" in plan(Order.objects.filter(store=another_store)[:101])
    assert "order_cancel_unaccepted" in plan(Order.objects.filter(cancel_reason_code=UNACCEPTED)[:101])


def test_order_searches_use_an_index(seeded):
    for match in (
        Q(display_code=seeded.display_code),
        Q(external_order_id=seeded.external_order_id) | Q(link_order_id=seeded.external_order_id),
    ):
        assert "Index" in plan(Order.objects.filter(match)[:101])
    # Part of a name or phone: at this size a scan still costs less than the trigram index; at millions it does
    # not. What matters here is that the index serves the search's very expression (0011).
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    name = plan(Order.objects.filter(customer_name__icontains=seeded.customer_name[9:17])[:101])
    assert "order_customer_name_trgm" in name
    assert "order_customer_phone_trgm" in plan(Order.objects.filter(customer_phone__contains="004001")[:101])


def test_event_list_pages_and_searches_use_their_indexes(seeded):
    assert "Index Scan Backward" in plan(WebhookEvent.objects.all()[:101])
    assert "Index" in plan(WebhookEvent.objects.filter(status="IGNORED")[:101])
    exact = Q(event_id="evt_plan_5") | Q(venue_id="evt_plan_5") | Q(external_order_id="evt_plan_5")
    assert "Index" in plan(WebhookEvent.objects.filter(exact)[:101])


def test_no_prefix_search_copies_of_the_big_tables_indexes():
    """0018: nothing searches these tables by prefix, so no varchar_pattern_ops index slows their writes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename IN "
            "('integration_order', 'integration_webhookevent', 'integration_outboundcall') AND indexdef LIKE %s",
            ["%varchar_pattern_ops%"],
        )
        assert cursor.fetchall() == []


def test_the_event_feed_reads_a_clients_events_from_the_cursor_by_index():
    from django.contrib.auth import get_user_model
    from django.test.utils import CaptureQueriesContext

    from integration.models import NotificationEvent
    from integration.services.mp_events.feed import events_page

    alice = get_user_model().objects.create(username="alice")
    # The feed reads only transactions older than every running one (the snapshot's xmin): the fake txids
    # end below it, whatever this server's xid counter (on a new server it is below N), and burn no xids.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        base = cursor.fetchone()[0] - N - 1
    _insert_series(
        NotificationEvent,
        N,
        {
            "event_id": "'evt_feed_' || i",
            "type": "CASE WHEN mod(i, 4) = 0 THEN 'menu.updated' ELSE 'order.ready' END",
            "client": f"CASE WHEN mod(i, 4) = 0 THEN NULL ELSE {alice.pk} END",
            "txid": f"{base} + i",
            "timestamp": "now()",
            "data": "'{}'",
        },
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE integration_notificationevent")
    everyones = NotificationEvent.objects.filter(client__isnull=True)
    own = NotificationEvent.objects.filter(client=alice)
    with CaptureQueriesContext(connection) as queries:
        page = events_page(everyones, own, after=(base + N // 2, 0), limit=100)
    assert [e.txid for e in page] == list(range(base + N // 2, base + N // 2 + 100))  # (txid, 0): that transaction on
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + queries.captured_queries[-1]["sql"])
        text = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on integration_notificationevent" not in text, text
    assert "Merge Append" in text and "Scan using event_client_feed" in text, text
    assert "Scan using event_everyone_feed" in text, text

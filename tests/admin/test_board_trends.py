"""Issue 13: the live order board and the trends charts: what they show, in the same queries at any size."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integration import counting
from integration.models import Order, Store, TrendRollup
from integration.selectors.board import order_board
from integration.selectors.trends import trends
from integration.services.ops.trends import trends_backfill
from tests.factories import StoreFactory
from tests.ops_data import ops_world, trend_world, week_world

pytestmark = pytest.mark.django_db

BOARD, TRENDS = "/admin/board/", "/admin/trends/"


def test_board_columns_say_where_open_orders_stand_with_their_timers(settings):
    settings.LINK_CONFIRM_DEADLINE = 600
    store = StoreFactory(timezone="America/Chicago")
    now = timezone.now()
    late = Order.objects.create(store=store, placed_at=now - timedelta(minutes=15))  # not at Link, overdue
    fresh = Order.objects.create(store=store, placed_at=now - timedelta(minutes=1), link_order_id="ord_1")
    Order.objects.create(store=store, placed_at=now, state="CONFIRMED", link_order_id="ord_2")
    Order.objects.create(store=store, placed_at=now, state="READY", link_order_id="ord_3")  # not open
    columns = {column.key: column for column in order_board(now=now)}
    assert {key: column.count for key, column in columns.items()} == {
        "not_at_link": 1,
        "waiting": 1,
        "confirmed": 1,
        "in_prep": 0,
    }
    assert columns["not_at_link"].orders[0].order == late
    assert columns["not_at_link"].orders[0].confirm_left == timedelta(minutes=-5)
    assert columns["waiting"].orders[0].order == fresh
    assert columns["waiting"].orders[0].confirm_left == timedelta(minutes=9)


def test_board_page_shows_store_local_times_money_and_the_late_highlighted(client, ops, settings):
    settings.LINK_CONFIRM_DEADLINE = 600
    store = StoreFactory(timezone="America/Chicago", name="Chicago Chili")
    Order.objects.create(store=store, placed_at=timezone.now() - timedelta(minutes=15), total=123456)
    html = client.get(BOARD).content.decode()
    assert "Not yet at Link" in html and "$1,234.56" in html
    # On the store's clock, with its zone and seconds (the day too when it was yesterday there); the viewer's on hover.
    assert re.search(
        r'placed <time datetime="[^"]+" title="[^"]+ UTC">(\w{3} \d{1,2} \w{3} )?\d\d:\d\d:\d\d C[SD]T', html
    )
    assert 'class="ticket late"' in html and "past the confirm deadline by 5 min" in html
    assert 'hx-trigger="every 5s"' in html


def test_board_refresh_is_the_board_alone_and_filters_by_store(client, ops):
    a, b = StoreFactory(name="Alpha"), StoreFactory(name="Beta")
    Order.objects.create(store=a, placed_at=timezone.now(), customer_name="Ann")
    Order.objects.create(store=b, placed_at=timezone.now(), customer_name="Bob")
    partial = client.get(f"{BOARD}?store={a.pk}", headers={"HX-Request": "true"}).content.decode()
    assert partial.lstrip().startswith('<div id="board"') and "<html" not in partial
    assert "Ann" in partial and "Bob" not in partial


def test_board_and_trends_need_the_right_to_read_orders(client, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(BOARD).status_code == 403
    assert client.get(TRENDS).status_code == 403


def test_trends_count_orders_per_hour_by_outcome_rates_and_times():
    world = trend_world(40)
    data = trends("24h")
    assert sum(sum(values) for values in data.orders.values()) == world["orders"]
    assert sum(data.orders["REJECTED"]) == 5 and sum(data.orders["OPEN"]) == 10
    assert sum(data.call_tries) == world["tries"]
    assert {rate for rate in data.call_success if rate is not None} == {50.0}
    assert {v for v in data.latency_p50 if v is not None} == {60.0}  # tries of 40 and 80 ms
    assert {v for v in data.prep_p50 if v is not None} == {12.0}
    confirm = [v for v in data.confirm_p50 if v is not None]
    assert confirm and all(4 <= v <= 8 for v in confirm)
    rates = [v for v in data.reject_rate if v is not None]
    assert rates and all(0 <= v <= 100 for v in rates)
    other = StoreFactory()
    assert sum(sum(values) for values in trends("24h", other).orders.values()) == 0
    assert len(trends("7d").hours) == 7 * 24 + 1


def test_trends_page_draws_the_charts_with_data(client, ops):
    trend_world(16)
    html = client.get(f"{TRENDS}?range=7d").content.decode()
    for key in ("orders", "rates", "confirm", "prep", "calls", "latency", "deliveries"):
        assert f'id="chart-{key}"' in html
    bars = re.findall(r'<rect class="bar"[^>]*data-value="(\d+)"', html)
    assert sum(int(n) for n in bars) == 16
    assert html.count('<circle class="point"') > 10


@pytest.mark.parametrize("url", [BOARD, f"{BOARD}?store=1", TRENDS, f"{TRENDS}?range=7d", f"{TRENDS}?store=1"])
def test_board_and_trends_take_the_same_number_of_queries_at_two_sizes(client, ops, url):
    ops_world(5, paused_by=ops, prefix="a")
    trend_world(8, prefix="a")
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    ops_world(45, paused_by=ops, prefix="b")
    trend_world(80, prefix="b")
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(small) == len(large), [q["sql"][:150] for q in large.captured_queries]


@pytest.mark.parametrize("query", ["", "?range=7d", "?range=7d&store=first"])
def test_rolled_up_charts_take_the_same_queries_at_two_sizes(client, ops, query):
    now = timezone.now()

    def measure(n: int, prefix: str) -> int:
        week_world(n, now, prefix=prefix)
        trends_backfill(now - timedelta(days=8))
        url = f"/admin/trends/{query}".replace("first", str(Store.objects.order_by("pk")[0].pk))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    assert measure(30, "a") == measure(300, "b")


def test_trends_page_says_which_hours_came_from_the_rollup(client, ops):
    store = week_world(60, timezone.now())[0]
    html = client.get(TRENDS).content.decode()
    assert "Computed now from every order and call." in html
    trends_backfill(timezone.now() - timedelta(days=2))
    assert "2 of 25 hours computed now" in client.get(TRENDS).content.decode()
    assert f"Computed from {store.name}" in client.get(f"{TRENDS}?store={store.pk}").content.decode()


def test_a_fresh_rollup_that_covers_no_hour_yet_is_no_alarm(client, ops):
    """Issue 25: on a fresh install the rollup runs every minute but covers only the hours since its first
    run; the page said "has not run since ...: is the scheduler up?" all the same."""
    week_world(20, timezone.now())
    now = timezone.now()
    TrendRollup.objects.update_or_create(
        pk=1,
        defaults={
            "covered_from": now.replace(minute=0, second=0, microsecond=0),
            "orders_seen": now,
            "calls_until": now.replace(minute=0, second=0, microsecond=0),
            "ran_at": now,
        },
    )
    html = client.get(TRENDS).content.decode()
    assert "is the scheduler" not in html and "covers the hours since" in html
    TrendRollup.objects.filter(pk=1).update(orders_seen=now - timedelta(hours=1), ran_at=now - timedelta(hours=1))
    assert "Is the scheduler (django-q2 cluster) up?" in client.get(TRENDS).content.decode()


def test_board_counts_stop_at_the_cap_and_say_so(client, ops, monkeypatch):
    monkeypatch.setattr(counting, "CAP", 3)
    store = StoreFactory()
    Order.objects.bulk_create(
        Order(store=store, placed_at=timezone.now(), state="CONFIRMED", link_order_id=f"ord_cap{i}") for i in range(5)
    )
    columns = {column.key: column.count for column in order_board()}
    assert columns == {"not_at_link": 0, "waiting": 0, "confirmed": 3, "in_prep": 0}
    html = client.get(BOARD).content.decode()
    assert '<span class="n">3+</span>' in html and '<span class="n">0</span>' in html


def test_capped_counts_count_each_queryset_in_one_statement():
    store = StoreFactory()
    Order.objects.bulk_create(Order(store=store, placed_at=timezone.now()) for _ in range(4))
    querysets = {"all": Order.objects.all(), "none": Order.objects.none(), "ready": Order.objects.filter(state="READY")}
    with CaptureQueriesContext(connection) as queries:
        counts = counting.capped_counts(querysets, cap=3)
    assert counts == {"all": 3, "none": 0, "ready": 0} and len(queries) == 1
    assert (counting.capped(3, cap=3), counting.capped(2, cap=3)) == ("3+", "2")


@pytest.mark.postgres_only
def test_board_columns_read_the_open_orders_index_in_order():
    """On a table of mostly closed orders, each column walks order_open_placed and stops at 30 (no sort)."""
    store = StoreFactory()
    now = timezone.now()
    Order.objects.bulk_create(
        Order(store=store, placed_at=now - timedelta(minutes=i), state="READY" if i % 5 else "CONFIRMED")
        for i in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE integration_order")
    column = Order.objects.filter(state="CONFIRMED").order_by("placed_at", "pk")[:30]
    plan = column.explain()
    assert "order_open_placed" in plan and "Sort" not in plan, plan


def test_picker_is_a_box_to_type_a_store_in_when_there_are_many(client, ops, monkeypatch):
    monkeypatch.setattr("integration.selectors.board.PICKER_MAX", 2)
    stores = [StoreFactory(name=f"Picker {i}") for i in range(3)]
    Order.objects.create(store=stores[1], placed_at=timezone.now(), customer_name="Pat")
    html = client.get(TRENDS).content.decode()
    assert '<input type="search" name="store"' in html and "<option" not in html
    html = client.get(f"{BOARD}?store={stores[1].venue_id}").content.decode()
    assert "Pat" in html and f"{stores[1].name} &middot;" in html
    assert "Pat" in client.get(f"{BOARD}?store=picker%201").content.decode()  # an exact name, any case
    assert "No store is nowhere: showing all stores." in client.get(f"{TRENDS}?store=nowhere").content.decode()

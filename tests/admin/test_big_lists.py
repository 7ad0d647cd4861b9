"""Issue 16: the lists of big tables page by keyset and count nothing; the store is typed, not picked."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integration.admin.orders import OrderAdmin
from integration.admin.outbound import OutboundCallAdmin
from integration.admin.webhooks import WebhookEventAdmin
from integration.models import Order, OutboundCall, WebhookEvent
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

LIST = "/admin/integration/order/"


def _walk(client, url: str) -> tuple[list[str], list[str]]:
    """Follow "Older" from ``url`` to the end: each page's HTML, and every SQL statement run."""
    pages, statements = [], []
    while url:
        with CaptureQueriesContext(connection) as queries:
            html = client.get(url).content.decode()
        statements += [q["sql"] for q in queries]
        pages.append(html)
        older = re.search(r'href="([^"]*)" class="older"', html)
        url = LIST + unescape(older.group(1)) if older else None
    return pages, statements


@pytest.fixture
def orders(monkeypatch):
    monkeypatch.setattr(OrderAdmin, "list_per_page", 2)
    store, now = StoreFactory(venue_id="ven_pho", name="Pho Place"), timezone.now()
    same = now - timedelta(hours=1)  # two orders at the same time: the id breaks the tie
    times = [now, now - timedelta(minutes=5), same, same, now - timedelta(days=200)]
    return [
        Order.objects.create(store=store, placed_at=t, state="READY" if n % 2 else "PENDING")
        for n, t in enumerate(times)
    ]


def test_pages_walk_every_order_once_newest_first_without_counting(client, ops, orders):
    pages, statements = _walk(client, LIST)
    assert len(pages) == 3
    shown = [re.findall(r"mp_[0-9a-f]{16}", page) for page in pages]
    expected = sorted(orders, key=lambda o: (o.placed_at, o.pk), reverse=True)
    assert [eid for page in shown for eid in dict.fromkeys(page)] == [o.external_order_id for o in expected]
    assert not any("COUNT(" in sql.upper() for sql in statements)  # nor any other
    assert "OFFSET" not in statements[-1].upper()
    assert "(the oldest)" in pages[-1] and 'class="newest"' in pages[-1]


def test_filters_and_search_keep_to_their_rows_across_pages(client, ops, orders):
    pages, _ = _walk(client, f"{LIST}?state__exact=PENDING")
    shown = {eid for page in pages for eid in re.findall(r"mp_[0-9a-f]{16}", page)}
    assert shown == {o.external_order_id for o in orders if o.state == "PENDING"}


def test_a_list_sorted_by_a_column_pages_by_offset(client, ops, orders):
    html = client.get(f"{LIST}?o=6").content.decode()  # by total
    older = re.search(r'href="([^"]*)" class="older"', html)
    assert older and "p=2" in unescape(older.group(1))


def test_store_is_typed_by_venue_or_storefront_id(client, ops, orders, monkeypatch):
    monkeypatch.setattr("integration.selectors.board.PICKER_MAX", 1)  # past it: a box to type, not a list
    other = Order.objects.create(
        store=StoreFactory(venue_id="ven_other", external_store_id="sf_other"), placed_at=timezone.now()
    )
    html = client.get(f"{LIST}?store_q=sf_other").content.decode()
    assert other.external_order_id in html and orders[0].external_order_id not in html
    html = client.get(f"{LIST}?store_q=ven_pho").content.decode()
    assert other.external_order_id not in html and orders[0].external_order_id in html
    assert "no such store" in client.get(f"{LIST}?store_q=nowhere").content.decode()
    assert f'value="{orders[0].store.pk}"' not in html  # no list of stores to pick from


def test_store_is_picked_from_a_dropdown_up_to_the_pickers_limit(client, ops, orders):
    """Issue 25: a few stores are a dropdown (like the board's), not a cut-off text box."""
    html = client.get(LIST).content.decode()
    assert '<select name="store__id__exact"' in html
    assert f'<option value="{orders[0].store.pk}">{orders[0].store.name}</option>' in html
    html = client.get(f"{LIST}?store__id__exact={orders[0].store.pk}").content.decode()
    assert f'<option value="{orders[0].store.pk}" selected>' in html


@pytest.mark.parametrize(
    ("model_admin", "url"),
    [(WebhookEventAdmin, "/admin/integration/webhookevent/"), (OutboundCallAdmin, "/admin/integration/outboundcall/")],
)
def test_events_and_calls_page_by_keyset_too(client, ops, monkeypatch, model_admin, url):
    monkeypatch.setattr(model_admin, "list_per_page", 1)
    store = StoreFactory()
    for n in range(2):
        WebhookEvent.objects.create(event_id=f"evt_{n}", type="store.connected", body="{}")
        OutboundCall.objects.create(
            kind="pause_store", store=store, next_attempt_at=timezone.now(), deadline=timezone.now()
        )
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    assert 'class="older"' in html
    assert not any('"__count"' in q["sql"] for q in queries)  # the paginator's count (the circuits' held calls remain)


def test_event_and_call_searches_are_exact_matches(client, ops):
    order = Order.objects.create(store=StoreFactory(venue_id="ven_s"), placed_at=timezone.now())
    other = Order.objects.create(store=StoreFactory(venue_id="ven_t"), placed_at=timezone.now())
    for o in (order, other):
        WebhookEvent.objects.create(
            event_id=f"evt_{o.pk}", type="order.ready", external_order_id=o.external_order_id, body="{}"
        )
        o.call = OutboundCall.objects.create(
            kind="submit_order", order=o, store=o.store, next_attempt_at=o.placed_at, deadline=o.placed_at
        )
    events = client.get(f"/admin/integration/webhookevent/?q={order.external_order_id}").content.decode()
    assert f"evt_{order.pk}" in events and f"evt_{other.pk}" not in events
    for term in ("ven_s", order.external_order_id, str(order.call.pk)):
        calls = client.get(f"/admin/integration/outboundcall/?q={term}").content.decode()
        assert (
            f"/outboundcall/{order.call.pk}/change/" in calls and f"/outboundcall/{other.call.pk}/change/" not in calls
        )


def test_every_list_writes_the_row_select_box_exactly_as_djangos_widget_would():
    from django.contrib import admin

    from integration.admin.base import OpsModelAdmin
    from tests.factories import OrderFactory, WebhookEventFactory

    for obj in (OrderFactory(), WebhookEventFactory()):
        model_admin = admin.site._registry[type(obj)]
        assert isinstance(model_admin, OpsModelAdmin)
        assert model_admin.action_checkbox(obj) == admin.ModelAdmin.action_checkbox(model_admin, obj)

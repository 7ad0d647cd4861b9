"""The orders admin: list (filters, exact search, no query per row), detail timeline, actions and permissions."""

import re

import pytest
import responses as responses_lib
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integration.models import Order, OutboundCall, Store
from tests.conftest import LINK
from tests.factories import OrderFactory, StoreFactory
from tests.order_fixtures import cancel_calls, link_takes, make_store, order_event, place, submit_call

pytestmark = pytest.mark.django_db

LIST = "admin:integration_order_changelist"


@pytest.fixture
def submitted(mocked_link):
    make_store()
    return link_takes(mocked_link, place(), "ord_1")


def act(client, action, orders, **form):
    data = {"action": action, "_selected_action": [o.pk for o in orders], **form}
    return client.post(reverse(LIST), data, follow=True)


def test_list_shows_the_columns_ops_need(client, ops, submitted):
    page = client.get(reverse(LIST))
    assert page.status_code == 200
    html = page.content.decode()
    for text in (
        submitted.display_code,
        submitted.external_order_id,
        "$25.82",
        'Succeeded <span class="id"',
        ">ord_1</span>",
        "At Link, not confirmed",
    ):
        assert text in html


@pytest.mark.parametrize("field", ["external_order_id", "link_order_id", "display_code", "customer_phone"])
def test_search_by_exact_ids_and_phone(client, ops, submitted, field):
    other = OrderFactory(store=submitted.store, customer_phone="+15550000000")
    term = getattr(submitted, field)
    if field == "display_code":
        term = term.lower()
    page = client.get(reverse(LIST), {"q": term})
    assert submitted.external_order_id.encode() in page.content
    assert other.external_order_id.encode() not in page.content


def test_filters_state_store_and_cancel(client, ops, submitted):
    pending = OrderFactory(store=submitted.store, cancel_requested_at=submitted.placed_at)
    page = client.get(reverse(LIST), {"cancel": "requested"})
    assert pending.external_order_id.encode() in page.content
    assert submitted.external_order_id.encode() not in page.content
    page = client.get(reverse(LIST), {"state__exact": "READY"})
    assert submitted.external_order_id.encode() not in page.content
    page = client.get(reverse(LIST), {"store__id__exact": submitted.store_id})
    assert submitted.external_order_id.encode() in page.content


def test_list_issues_no_query_per_row(client, ops):
    store = StoreFactory()
    OrderFactory.create_batch(2, store=store, submitted=True)
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse(LIST)).status_code == 200
    OrderFactory.create_batch(15, store=store, submitted=True)
    with CaptureQueriesContext(connection) as large:
        assert client.get(reverse(LIST)).status_code == 200
    assert len(small) == len(large)


def test_detail_shows_lines_and_one_timeline(client, ops, submitted):
    order_event("order.confirmed", submitted, event_id="evt_conf")
    order_event("order.ready", submitted, event_id="evt_ready")
    order_event("order.cancelled", submitted, event_id="evt_late_cancel")
    page = client.get(reverse("admin:integration_order_change", args=[submitted.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    # Modifiers by name and price, not group ids and cents (issue 25); Link's ids on hover.
    assert "Cheeseburger" in html and re.search(
        r'<span title="Link ids: modifier [^"]+">Bacon</span> <span class="money">\+\$1\.50</span>', html
    )
    assert "mg_addons" not in html.split('id="order-timeline"')[0].split("Modifiers")[-1][:400]
    timeline = html[html.index('id="order-timeline"') :]
    expected_in_order = [
        "placed (PENDING)",
        "Submit order #",
        "order.confirmed (evt_conf)",
        "PENDING -&gt; CONFIRMED",
        "Link event order.confirmed evt_conf",
        "order.ready (evt_ready)",
        "CONFIRMED -&gt; READY",
        "order.cancelled (evt_late_cancel)",
        "cancel after READY: recorded, not applied",
    ]
    positions = [timeline.index(text) for text in expected_in_order]
    assert positions == sorted(positions)
    assert "try 1 at" in timeline and "201 (success)" in timeline


def test_cancel_action_asks_for_a_reason_code_then_cancels(client, ops, submitted, no_broker):
    form = act(client, "cancel_orders", [submitted])
    assert b"reason_code" in form.content and b"CUSTOMER_REQUEST" in form.content
    done = act(client, "cancel_orders", [submitted], apply="1", reason_code="FRAUD", reason="stolen card")
    assert b"cancel requested; waiting for Link" in done.content
    submitted.refresh_from_db()
    assert submitted.cancel_status == "requested" and submitted.cancel_requested_by == ops
    assert cancel_calls(submitted).get().payload == {"reason_code": "FRAUD", "reason": "stolen card"}
    assert LogEntry.objects.filter(user=ops, object_id=str(submitted.pk)).exists()


def test_cancel_action_refuses_a_ready_order_plainly(client, ops, submitted):
    order_event("order.ready", submitted)
    done = act(client, "cancel_orders", [submitted], apply="1", reason_code="OTHER", reason="")
    assert b"only orders not yet ready can be cancelled" in done.content
    assert not cancel_calls(submitted).exists()


def test_retry_submission_action(client, ops, submitted, no_broker):
    order = OrderFactory(
        store=submitted.store, state=Order.State.FAILED, submit_call__status=OutboundCall.Status.FAILED
    )
    done = act(client, "retry_submissions", [order, submitted])
    assert b"submitted again with the same external id" in done.content
    assert b"only failed orders can be submitted again" in done.content
    order.refresh_from_db()
    assert order.state == Order.State.PENDING and submit_call(order).status == OutboundCall.Status.PENDING


def test_retry_submission_refused_while_the_store_is_paused(client, ops, submitted):
    Order.objects.filter(pk=submitted.pk).update(state=Order.State.FAILED)
    Store.objects.update(state=Store.State.PAUSED, pause_reason="storm")
    done = act(client, "retry_submissions", [submitted])
    assert b"does not take orders now: paused: storm" in done.content


def test_reconcile_action(client, ops, submitted, mocked_link):
    mocked_link.add(
        responses_lib.GET,
        f"{LINK}/v2/orders/ord_1",
        json={"order_id": "ord_1", "external_order_id": submitted.external_order_id, "status": "SENT"},
    )
    done = act(client, "reconcile_orders", [submitted])
    assert b"Link says SENT: PENDING -&gt; CONFIRMED" in done.content
    submitted.refresh_from_db()
    assert submitted.state == Order.State.CONFIRMED


def test_read_only_user_sees_orders_but_no_actions(client, viewer, submitted):
    page = client.get(reverse(LIST))
    assert page.status_code == 200 and submitted.external_order_id.encode() in page.content
    for action in (b"cancel_orders", b"retry_submissions", b"reconcile_orders"):
        assert action not in page.content
    act(client, "cancel_orders", [submitted], apply="1", reason_code="OTHER", reason="")
    submitted.refresh_from_db()
    assert submitted.cancel_requested_at is None
    assert client.get(reverse("admin:integration_order_change", args=[submitted.pk])).status_code == 200


@pytest.mark.parametrize(
    ("codename", "action"),
    [
        ("cancel_order", "cancel_orders"),
        ("retry_order_submission", "retry_submissions"),
        ("reconcile_order", "reconcile_orders"),
    ],
)
def test_each_action_needs_its_own_permission(client, submitted, codename, action):
    user = User.objects.create_user("one-perm", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_order", codename]))
    client.force_login(user)
    html = client.get(reverse(LIST)).content.decode()
    actions = {"cancel_orders", "retry_submissions", "reconcile_orders"}
    assert f'value="{action}"' in html
    assert not [a for a in actions - {action} if f'value="{a}"' in html]

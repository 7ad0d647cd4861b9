"""Issue 13: the order page leads with state, timers and the timeline, with its actions as buttons."""

import re

import pytest

from integration.models import Order
from tests.order_fixtures import make_store, place

pytestmark = pytest.mark.django_db


def page(client, order) -> str:
    response = client.get(f"/admin/integration/order/{order.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_order_page_leads_with_state_timers_timeline_and_buttons(client, ops, no_broker):
    make_store(timezone="America/Chicago")
    order = place()
    html = page(client, order)
    assert html.index('id="order-summary"') < html.index('id="order-timeline"') < html.index('id="order_form"')
    assert re.search(r'<span class="state" id="order-state" title="[^"]*">Not yet at Link</span>', html)
    assert "confirm deadline in" in html and ("CST" in html or "CDT" in html)
    assert 'id="order-action-cancel_orders"' in html
    assert 'id="order-action-retry_submissions"' not in html  # only a failed order is submitted again
    assert f"${order.lines.first().line_total / 100:,.2f}" in html  # line prices as money, not cents

    Order.objects.filter(pk=order.pk).update(state="FAILED")
    html = page(client, order)
    assert 'id="order-action-retry_submissions"' in html and 'id="order-action-cancel_orders"' not in html


def test_a_button_runs_the_lists_action_on_this_order(client, ops, no_broker):
    make_store()
    order = place()
    Order.objects.filter(pk=order.pk).update(state="FAILED")
    response = client.post(
        "/admin/integration/order/", {"action": "retry_submissions", "_selected_action": order.pk}, follow=True
    )
    assert response.status_code == 200
    assert Order.objects.get(pk=order.pk).state == Order.State.PENDING


def test_support_sees_the_summary_without_buttons(client, support, no_broker):
    make_store()
    order = place()
    html = page(client, order)
    assert 'id="order-summary"' in html and "order-action-" not in html


def fieldset_classes(html: str, title: str) -> str:
    start = html.rindex("<fieldset", 0, html.index(f">{title}<"))
    return html[start : html.index(">", start)]


def test_empty_field_groups_are_folded(client, ops, no_broker):
    make_store()
    order = place()
    html = page(client, order)
    assert "collapse" in fieldset_classes(html, "Rejected, cancelled or failed")
    assert "collapse" in fieldset_classes(html, "Kitchen")
    assert "collapse" not in fieldset_classes(html, "Customer and fulfillment")  # a phone and a name
    Order.objects.filter(pk=order.pk).update(state="REJECTED", reason_code="OUT_OF_STOCK")
    assert "collapse" not in fieldset_classes(page(client, order), "Rejected, cancelled or failed")

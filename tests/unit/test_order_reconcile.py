"""Reconcile: read Link's truth (GET /v2/orders/{id}) and apply it under the event rules; the command."""

import pytest
import responses as responses_lib
from django.core.management import call_command
from django.core.management.base import CommandError
from django_fsm_log.models import StateLog

from integration.models import Order
from integration.services.orders.recovery import order_reconcile
from tests.conftest import LINK
from tests.factories import OrderFactory, StoreFactory
from tests.order_fixtures import order_event

pytestmark = pytest.mark.django_db

S = Order.State


@pytest.fixture
def orders():
    """Three orders Link took, as ord_1, ord_2 and ord_3."""
    store = StoreFactory(venue_id="ven_1")
    return [OrderFactory(store=store, submitted=True, link_order_id=f"ord_{n}") for n in range(1, 4)]


def link_says(rsps, link_order_id, status, **extra):
    body = {
        "order_id": link_order_id,
        "external_order_id": "mp_x",
        "status": status,
        "estimated_ready_at": extra.pop("estimated_ready_at", None),
        "reason_code": extra.pop("reason_code", None),
        "reason": extra.pop("reason", None),
        "updated_at": "2026-11-27T12:30:00Z",
    }
    rsps.add(responses_lib.GET, f"{LINK}/v2/orders/{link_order_id}", json=body)


def test_reconcile_applies_links_status_with_its_cause(orders, mocked_link):
    order = orders[0]
    link_says(mocked_link, "ord_1", "IN_PREP", estimated_ready_at="2026-11-27T12:45:00Z")
    result = order_reconcile(order)
    order.refresh_from_db()
    assert result.change == "PENDING -> IN_PREP" and result.link_status == "IN_PREP"
    assert order.state == S.IN_PREP and order.estimated_ready_at.minute == 45 and order.link_status == "IN_PREP"
    assert StateLog.objects.get(object_id=order.pk).description == "system: reconcile, Link says IN_PREP"


def test_reconcile_never_moves_an_order_back_and_keeps_final_states(orders, mocked_link):
    order_event("order.preparing", orders[0])
    order_event("order.ready", orders[1])
    link_says(mocked_link, "ord_1", "SENT")
    link_says(mocked_link, "ord_2", "CANCELLED")
    stale = order_reconcile(orders[0])
    final = order_reconcile(orders[1])
    assert (stale.change, stale.note) == ("", "stale: order already IN_PREP")
    assert (final.change, final.note) == ("", "cancel after READY: recorded, not applied")
    assert Order.objects.get(pk=orders[0].pk).state == S.IN_PREP
    assert Order.objects.get(pk=orders[1].pk).state == S.READY


def test_reconcile_rejection_keeps_links_reason(orders, mocked_link):
    link_says(mocked_link, "ord_1", "REJECTED", reason_code="STORE_CLOSED", reason="Closed early")
    order_reconcile(orders[0])
    order = Order.objects.get(pk=orders[0].pk)
    assert (order.state, order.reason_code, order.reason) == (S.REJECTED, "STORE_CLOSED", "Closed early")


def test_order_not_on_link_yet_is_not_read(mocked_link):
    result = order_reconcile(OrderFactory())
    assert "no Link order id" in result.note
    assert not [c for c in mocked_link.calls if "/v2/orders" in c.request.url]


def test_command_dry_run_reads_but_changes_nothing(orders, mocked_link, capsys):
    link_says(mocked_link, "ord_1", "READY")
    link_says(mocked_link, "ord_2", "INIT")
    link_says(mocked_link, "ord_3", "SENT")
    call_command("link_reconcile_orders", "--dry-run")
    out = capsys.readouterr().out
    assert f"{orders[0].external_order_id}: Link says READY, would change PENDING -> READY" in out
    assert "dry run: 3 orders: 2 changed, 1 in step, 0 left as is, 0 errors" in out
    assert set(Order.objects.values_list("state", flat=True)) == {S.PENDING}

    call_command("link_reconcile_orders")
    assert "3 orders: 2 changed, 1 in step" in capsys.readouterr().out
    assert sorted(Order.objects.values_list("state", flat=True)) == sorted([S.READY, S.PENDING, S.CONFIRMED])


def test_command_filters_by_state_and_since(orders, mocked_link, capsys):
    order_event("order.confirmed", orders[0])
    link_says(mocked_link, "ord_1", "READY")
    call_command("link_reconcile_orders", "--state", "CONFIRMED", "--since", "1h")
    assert "1 orders: 1 changed" in capsys.readouterr().out
    call_command("link_reconcile_orders", "--since", "2099-01-01T00:00:00Z")
    assert "0 orders" in capsys.readouterr().out


def test_command_exits_non_zero_when_link_cannot_be_read(orders, mocked_link, capsys):
    link_says(mocked_link, "ord_1", "SENT")
    link_says(mocked_link, "ord_2", "SENT")
    mocked_link.add(
        responses_lib.GET,
        f"{LINK}/v2/orders/ord_3",
        json={"error": {"code": "not_found", "message": "No such order"}},
        status=404,
    )
    with pytest.raises(CommandError, match="1 of 3 orders could not be read from Link") as exc:
        call_command("link_reconcile_orders")
    assert exc.value.returncode == 1
    captured = capsys.readouterr()
    assert "3 orders: 2 changed, 0 in step, 0 left as is, 1 errors" in captured.out
    assert "not_found" in captured.err

"""Issue 11 row 5: selections per line, lines per order and the order total are capped, checked before any write."""

import pytest

from integration.models import GroupModifier, Modifier, ModifierGroup, Order, OutboundCall
from tests.order_fixtures import api_client, make_store, mod, order_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    store = make_store()
    sauces = ModifierGroup.objects.get(menu__store=store, link_id="mg_sauce")  # max_selections 0: no limit
    gold = Modifier.objects.create(menu=sauces.menu, link_id="mod_gold", name="Gold leaf", price=2_000_000)
    GroupModifier.objects.create(group=sauces, modifier=gold, position=9)
    return api_client()


def fries(selections: int, quantity: int = 99, modifier: str = "mod_gold", each: int = 99) -> dict:
    return {"item_id": "itm_fries", "quantity": quantity, "modifiers": [mod(modifier, "mg_sauce", each)] * selections}


def refused(resp, code: str, field: str):
    assert resp.status_code == 422, resp.content
    assert resp.json()["error"]["code"] == "invalid_order"
    assert {(d["field"], d["code"]) for d in resp.json()["error"]["details"]} >= {(field, code)}
    assert not Order.objects.exists() and not OutboundCall.objects.exists()


def test_an_order_beyond_what_the_columns_hold_is_422_not_500(api):
    resp = api.post("/api/v1/orders/", order_request(items=[fries(14)] * 100), format="json")
    refused(resp, "total_too_large", "total")


def test_an_order_over_the_total_cap_is_refused_before_any_write(api, settings):
    settings.ORDER_TOTAL_MAX = 100_000
    resp = api.post("/api/v1/orders/", order_request(items=[fries(1, quantity=1, each=1)], tip=0), format="json")
    refused(resp, "total_too_large", "total")
    ok = api.post(
        "/api/v1/orders/", order_request(items=[fries(1, quantity=1, modifier="mod_mayo", each=1)]), format="json"
    )
    assert ok.status_code == 201, ok.content


def test_selections_per_line_are_capped(api):
    resp = api.post("/api/v1/orders/", order_request(items=[fries(51, modifier="mod_ketchup", each=1)]), format="json")
    refused(resp, "too_many_selections", "items[0].modifiers")
    ok = api.post("/api/v1/orders/", order_request(items=[fries(50, modifier="mod_ketchup", each=1)]), format="json")
    assert ok.status_code == 201, ok.content


def test_lines_per_order_are_capped(api):
    resp = api.post("/api/v1/orders/", order_request(items=[fries(0, quantity=1)] * 101), format="json")
    assert resp.status_code == 422 and not Order.objects.exists()
    assert resp.json()["error"]["details"][0]["field"] == "items"

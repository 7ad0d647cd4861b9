"""Issue 27 end to end (real web, worker and sandbox): v1 -> v2 with a price change, an item removed and one
added, and the diff lists exactly those; a 10% rule, and the catalog, a placed order and the body Link
received agree with it; an override survives v3."""

import random
from decimal import ROUND_HALF_UP, Decimal

import pytest

from dev.demo import MarketplaceClient, order_request_from_catalog
from integration.models import Menu, Order
from integration.services.ops.api_clients import api_client_create
from tests.waiting import wait_for

from .helpers import api_client

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]


def ten_percent(price: int) -> int:
    return int((Decimal(price) * Decimal("1.10")).quantize(Decimal(1), rounding=ROUND_HALF_UP)) if price else 0


def live_version(venue: str, version: int):
    return wait_for(
        lambda: Menu.objects.filter(store__venue_id=venue, state="PUBLISHED", version=version).first(),
        timeout=40,
        what=f"menu v{version} to be ingested",
    )


def items_of(catalog: dict) -> dict:
    return {i["id"]: i for c in catalog["categories"] for i in c["items"]}


def modifiers_of(catalog: dict) -> dict:
    return {m["id"]: m for g in catalog["modifier_groups"] for m in g["modifiers"]}


def test_versions_diff_price_rule_and_override_across_the_stack(stack_factory):
    stack = stack_factory(sandbox_args=("--seed", "27", "--no-auto"))
    sandbox = stack.sandbox
    sandbox.connect_venue("ven_layer", name="Layer House", timezone="UTC", external_store_id="sf_layer")
    sandbox.publish_menu("ven_layer", items=12, groups=3, modifiers=8, depth=1, seed=2)
    live_version("ven_layer", 1)
    mp = api_client(stack)
    v1 = items_of(mp.get("/stores/sf_layer/menu/").json())

    # v2: one price change, one item removed, one added; the diff lists exactly those.
    new_price = v1["itm_1"]["link_price"] + 50
    edits = {
        "prices": {"itm_1": new_price},
        "remove_items": ["itm_4"],
        "add_items": [{"id": "itm_new", "name": "Newcomer", "price": 1299}],
    }
    sandbox.publish_menu("ven_layer", edits=edits)
    live_version("ven_layer", 2)
    diff = mp.get("/stores/sf_layer/menu/diff/?from=1&to=2")
    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert (body["from"], body["to"]) == (1, 2)
    assert body["items"] == {
        "added": ["itm_new"],
        "removed": ["itm_4"],
        "changed": [{"id": "itm_1", "changes": {"price": [v1["itm_1"]["link_price"], new_price]}}],
    }
    assert body["modifiers"] == body["modifier_groups"] == {"added": [], "removed": [], "changed": []}
    assert {c["id"] for c in body["categories"]["changed"]} and not body["categories"]["added"]

    # A 10% rule: the catalog, a placed order and the body Link received agree with it.
    manager = MarketplaceClient(stack.web_url, api_client_create("catalog", permissions=["manage_catalog"]).token)
    rule = manager.session.post(
        f"{manager.api}/api/v1/price-rules/",
        json={
            "name": "10%",
            "stores": ["sf_layer"],
            "markup_percent": "10.00",
            "markup_fixed": 0,
            "rounding": {"step": 0, "ending": 0},
            "exclude_items": [],
            "modifiers": True,
        },
        timeout=10,
    )
    assert rule.status_code == 201, rule.text
    catalog = mp.get("/stores/sf_layer/menu/").json()
    for item in items_of(catalog).values():
        assert item["price"] == ten_percent(item["link_price"]), item
    for modifier in modifiers_of(catalog).values():
        assert modifier["price"] == ten_percent(modifier["link_price"]), modifier

    order_body = order_request_from_catalog(catalog, "sf_layer", random.Random(5), lines=3)
    placed = mp.place(order_body)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    link_items, link_mods = items_of(catalog), modifiers_of(catalog)
    for line, requested in zip(order["lines"], order_body["items"], strict=True):
        item = link_items[requested["item_id"]]
        assert line["item_price"] == item["price"]
        assert line["unit_price"] - line["link_unit_price"] >= 0
    wait_for(
        lambda: any(o["external_order_id"] == order["external_order_id"] for o in sandbox.orders()),
        timeout=40,
        what="Link to receive the order",
    )
    posted = next(
        c["body"]
        for c in sandbox.calls(method="POST", path_prefix="/v2/orders")
        if (c.get("body") or {}).get("external_order_id") == order["external_order_id"]
    )

    def link_unit(sent_line) -> int:
        return sent_line["unit_price"] + sum(m["quantity"] * link_unit(m) for m in sent_line["modifiers"])

    link_subtotal = 0
    for sent, line in zip(posted["items"], order["lines"], strict=True):
        assert sent["unit_price"] == link_items[sent["item_id"]]["link_price"]  # Link's price, not ours
        for m in sent["modifiers"]:
            assert m["unit_price"] == link_mods[m["modifier_id"]]["link_price"]
        assert link_unit(sent) == line["link_unit_price"]
        link_subtotal += link_unit(sent) * sent["quantity"]
    assert posted["totals"]["subtotal"] == link_subtotal
    assert order["totals"]["markup"] == order["totals"]["subtotal"] - link_subtotal > 0
    db = Order.objects.get(external_order_id=order["external_order_id"])
    assert (db.link_subtotal, db.link_total) == (posted["totals"]["subtotal"], posted["totals"]["total"])

    # An override survives v3 (and Link's words stay beside it).
    put = manager.session.put(
        f"{manager.api}/api/v1/stores/sf_layer/menu/items/itm_2/override/",
        json={"name": "Our itm_2", "description": "410 kcal"},
        timeout=10,
    )
    assert put.status_code == 201, put.text
    sandbox.publish_menu("ven_layer", edits={"prices": {"itm_3": 777}})
    live_version("ven_layer", 3)
    item = items_of(mp.get("/stores/sf_layer/menu/").json())["itm_2"]
    assert (item["name"], item["description"]) == ("Our itm_2", "410 kcal")
    assert item["link_name"] == v1["itm_2"]["link_name"]
    assert mp.get("/stores/sf_layer/menu/diff/?from=2&to=3").json()["items"]["changed"] == [
        {"id": "itm_3", "changes": {"price": [v1["itm_3"]["link_price"], 777]}}
    ]

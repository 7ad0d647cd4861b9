"""The menu layer's API (issue 27): the diff, price rules, content overrides; both prices on the catalog,
the order and the body sent to Link."""

import pytest

from integration.models import CategoryItem, ItemOverride, MenuCategory, MenuItem, NotificationEvent, Order, PriceRule
from integration.services.menus.ingest import menu_ingest
from tests.factories import StoreFactory
from tests.menus import build_menu, find, with_changes
from tests.order_fixtures import api_client, api_user, order_request, submit_call
from tests.order_fixtures import make_store as make_fixture_store


def make_store(**kwargs):
    """The order fixtures' menu, its items in one category (so the catalog lists them)."""
    store = make_fixture_store(**kwargs)
    category = MenuCategory.objects.create(menu=store.menu, link_id="cat_1", name="All", sort_order=1)
    items = MenuItem.objects.filter(menu=store.menu).order_by("id")
    CategoryItem.objects.bulk_create(CategoryItem(category=category, item=i, position=n) for n, i in enumerate(items))
    return store


pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return api_client(api_user("catalog", permissions=["manage_catalog"]))


@pytest.fixture
def checkout():
    return api_client(api_user("checkout"))


def rule_body(**changes):
    body = {
        "name": "Marketplace 10%",
        "stores": [],
        "markup_percent": "10.00",
        "markup_fixed": 0,
        "rounding": {"step": 0, "ending": 0},
        "exclude_items": [],
        "modifiers": True,
    }
    return body | changes


def catalog_items(client, store="sf_1") -> dict:
    body = client.get(f"/api/v1/stores/{store}/menu/").json()
    return {i["id"]: i for c in body["categories"] for i in c["items"]}


def catalog_modifiers(client, store="sf_1") -> dict:
    body = client.get(f"/api/v1/stores/{store}/menu/").json()
    return {m["id"]: m for g in body["modifier_groups"] for m in g["modifiers"]}


# --- the diff ---------------------------------------------------------------------------------------------


def test_diff_answers_the_fixed_shape(checkout):
    store = StoreFactory(venue_id="ven_1", external_store_id="sf_1")
    v1 = build_menu(items=5, venue_id="ven_1")
    menu_ingest(store, v1)
    v2 = with_changes(v1, version=2)
    find(v2, "items", "itm_1")["price"] = 949
    menu_ingest(store, v2)
    resp = checkout.get("/api/v1/stores/sf_1/menu/diff/?from=1&to=2")
    assert resp.status_code == 200, resp.content
    assert resp.json() == {
        "from": 1,
        "to": 2,
        "items": {"added": [], "removed": [], "changed": [{"id": "itm_1", "changes": {"price": [899, 949]}}]},
        "modifiers": {"added": [], "removed": [], "changed": []},
        "modifier_groups": {"added": [], "removed": [], "changed": []},
        "categories": {"added": [], "removed": [], "changed": []},
    }
    assert checkout.get("/api/v1/stores/sf_1/menu/diff/?from=1&to=9").json()["error"]["code"] == "version_not_kept"
    assert checkout.get("/api/v1/stores/sf_1/menu/diff/?from=x&to=2").status_code == 422
    assert checkout.get("/api/v1/stores/nope/menu/diff/?from=1&to=2").status_code == 404


# --- price rules ------------------------------------------------------------------------------------------


def test_price_rules_need_manage_catalog(checkout):
    assert checkout.post("/api/v1/price-rules/", rule_body(), format="json").status_code == 403
    assert checkout.get("/api/v1/price-rules/").status_code == 403


def test_price_rule_crud(manager):
    make_store()
    created = manager.post("/api/v1/price-rules/", rule_body(stores=["sf_1"]), format="json")
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    assert created.json()["stores"] == ["sf_1"] and created.json()["markup_percent"] == "10.00"
    assert manager.get(f"/api/v1/price-rules/{rule_id}/").json()["name"] == "Marketplace 10%"
    patched = manager.patch(f"/api/v1/price-rules/{rule_id}/", {"rounding": {"step": 50, "ending": 49}}, format="json")
    assert patched.status_code == 200 and patched.json()["rounding"] == {"step": 50, "ending": 49}
    assert patched.json()["markup_percent"] == "10.00"
    assert [r["id"] for r in manager.get("/api/v1/price-rules/").json()] == [rule_id]
    assert manager.delete(f"/api/v1/price-rules/{rule_id}/").status_code == 204
    assert manager.get(f"/api/v1/price-rules/{rule_id}/").status_code == 404
    assert NotificationEvent.objects.filter(type="menu.updated", data__change="prices").count() == 3


def test_price_rule_refusals_list_every_problem(manager):
    resp = manager.post(
        "/api/v1/price-rules/",
        rule_body(name="", stores=["nope"], markup_percent="abc", rounding={"step": 50, "ending": 50}),
        format="json",
    )
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.json()["error"]["details"]}
    assert fields == {"name", "stores[0]", "markup_percent", "rounding.ending"}
    assert PriceRule.objects.count() == 0


def test_catalog_order_and_link_body_carry_both_prices(manager, checkout):
    make_store()
    manager.post("/api/v1/price-rules/", rule_body(), format="json")
    items, modifiers = catalog_items(checkout), catalog_modifiers(checkout)
    assert (items["itm_burger"]["price"], items["itm_burger"]["link_price"]) == (989, 899)  # 988.9 -> 989
    assert (modifiers["mod_bacon"]["price"], modifiers["mod_bacon"]["link_price"]) == (165, 150)
    assert (modifiers["mod_single"]["price"], modifiers["mod_single"]["link_price"]) == (0, 0)

    resp = checkout.post("/api/v1/orders/", order_request(), format="json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    line = body["lines"][0]
    assert (line["unit_price"], line["link_unit_price"]) == (989 + 165, 899 + 150)
    assert body["totals"]["subtotal"] == 2 * 1154 and body["totals"]["markup"] == 2 * 1154 - 2 * 1049
    order = Order.objects.get()
    sent = submit_call(order).payload
    assert sent["items"][0]["unit_price"] == 899
    assert [m["unit_price"] for m in sent["items"][0]["modifiers"]] == [0, 150]
    assert sent["totals"]["subtotal"] == 2098 and sent["totals"]["tax"] == 184 and sent["totals"]["total"] == 2582

    # Changing the rule never reprices the placed order.
    rule = PriceRule.objects.get()
    manager.patch(f"/api/v1/price-rules/{rule.pk}/", {"markup_percent": "50.00"}, format="json")
    again = checkout.get(f"/api/v1/orders/{order.external_order_id}/").json()
    assert again["lines"][0]["unit_price"] == 1154 and again["totals"]["markup"] == 210
    assert catalog_items(checkout)["itm_burger"]["price"] == 1349  # 1348.5 half up


def test_a_stores_own_rule_beats_an_every_store_rule(manager, checkout):
    make_store()
    make_store(venue_id="ven_2", external_store_id="sf_2")
    manager.post("/api/v1/price-rules/", rule_body(stores=["sf_2"], markup_percent="20.00"), format="json")
    manager.post("/api/v1/price-rules/", rule_body(markup_percent="10.00"), format="json")  # newer, every store
    assert catalog_items(checkout, "sf_1")["itm_burger"]["price"] == 989
    assert catalog_items(checkout, "sf_2")["itm_burger"]["price"] == 1079  # 1078.8


def test_the_catalog_etag_changes_with_a_rule(manager, checkout):
    make_store()
    first = checkout.get("/api/v1/stores/sf_1/menu/")
    manager.post("/api/v1/price-rules/", rule_body(), format="json")
    second = checkout.get("/api/v1/stores/sf_1/menu/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200 and second["ETag"] != first["ETag"]


# --- overrides --------------------------------------------------------------------------------------------


def test_override_serves_ours_beside_links(manager, checkout):
    make_store()
    url = "/api/v1/stores/sf_1/menu/items/itm_burger/override/"
    body = {"name": "The Burger", "description": "520 kcal", "image_url": "https://img.example/b.jpg"}
    resp = manager.put(url, body, format="json")
    assert resp.status_code == 201, resp.content
    item = catalog_items(checkout)["itm_burger"]
    assert (item["name"], item["link_name"]) == ("The Burger", "Cheeseburger")
    assert (item["description"], item["image_url"]) == ("520 kcal", "https://img.example/b.jpg")
    assert manager.put(url, {"image_url": "http://img.example/b.jpg"}, format="json").status_code == 422
    assert checkout.put(url, {"hidden": True}, format="json").status_code == 403
    assert manager.delete(url).status_code == 204
    assert catalog_items(checkout)["itm_burger"]["name"] == "Cheeseburger"
    assert manager.delete(url).status_code == 404


def test_a_hidden_item_leaves_the_catalog_and_ordering_it_is_item_unavailable(manager, checkout):
    make_store()
    manager.put("/api/v1/stores/sf_1/menu/items/itm_burger/override/", {"hidden": True}, format="json")
    assert "itm_burger" not in catalog_items(checkout)
    resp = checkout.post("/api/v1/orders/", order_request(), format="json")
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "item_unavailable"
    assert {"field": "items[0].item_id", "code": "item_unavailable"}.items() <= error["details"][0].items()
    fries = {"item_id": "itm_fries", "quantity": 1, "special_instructions": "", "modifiers": []}
    assert checkout.post("/api/v1/orders/", order_request(items=[fries]), format="json").status_code == 201


def test_overrides_survive_new_versions_and_orphans_are_kept(manager, checkout):
    store = StoreFactory(venue_id="ven_1", external_store_id="sf_1")
    v1 = build_menu(items=3, venue_id="ven_1")
    menu_ingest(store, v1)
    manager.put("/api/v1/stores/sf_1/menu/items/itm_2/override/", {"name": "Ours"}, format="json")
    v2 = with_changes(v1, version=2)
    v2["items"] = [i for i in v2["items"] if i["id"] != "itm_2"]
    for category in v2["categories"]:
        category["item_ids"] = [i for i in category["item_ids"] if i != "itm_2"]
    menu_ingest(store, v2)
    assert "itm_2" not in catalog_items(checkout)
    assert ItemOverride.objects.filter(store=store, item_id="itm_2").exists()
    menu_ingest(store, with_changes(v1, version=3))
    assert catalog_items(checkout)["itm_2"]["name"] == "Ours"


@pytest.mark.parametrize(
    "body",
    [
        {"image_url": "https://[::1"},
        {"image_url": "https://img.example/a\x00.jpg"},
        {"name": "a\x00b"},
        {"hidden": "yes"},
        {"colour": "red"},
        {},
    ],
)
def test_override_refuses_bad_bodies_with_422(manager, body):
    make_store()
    resp = manager.put("/api/v1/stores/sf_1/menu/items/itm_fries/override/", body, format="json")
    assert resp.status_code == 422, resp.content


@pytest.mark.parametrize(
    "changes",
    [{"name": "a\x00"}, {"exclude_items": ["itm\x00"]}, {"stores": ["sf\x00"]}, {"markup_percent": "NaN"}],
)
def test_price_rule_refuses_hostile_values_with_422(manager, changes):
    assert manager.post("/api/v1/price-rules/", rule_body(**changes), format="json").status_code == 422

"""Generated menus (shape, size, speed, validity) and how the sandbox publishes and serves them."""

from dev.sandbox.menus import generate_menu

MENU_KEYS = {
    "menu_id",
    "venue_id",
    "version",
    "currency",
    "published_at",
    "hours",
    "categories",
    "items",
    "modifier_groups",
    "modifiers",
}


def menu_problems(menu: dict) -> list[str]:
    """Everything the contract calls an error: undefined ids, cycles, impossible min/max."""
    problems = []
    groups = {g["id"]: g for g in menu["modifier_groups"]}
    modifiers = {m["id"]: m for m in menu["modifiers"]}
    items = {i["id"]: i for i in menu["items"]}
    if len(groups) != len(menu["modifier_groups"]) or len(modifiers) != len(menu["modifiers"]):
        problems.append("duplicate ids")
    for category in menu["categories"]:
        problems += [f"{category['id']} -> {i}" for i in category["item_ids"] if i not in items]
    for item in menu["items"]:
        problems += [f"{item['id']} -> {g}" for g in item["modifier_group_ids"] if g not in groups]
        if not isinstance(item["price"], int) or item["price"] < 0:
            problems.append(f"{item['id']} price")
    for group in groups.values():
        problems += [f"{group['id']} -> {m}" for m in group["modifier_ids"] if m not in modifiers]
        if not 0 <= group["min_selections"] <= group["max_selections"] <= len(group["modifier_ids"]):
            problems.append(f"{group['id']} min/max")
    for modifier in modifiers.values():
        problems += [f"{modifier['id']} -> {g}" for g in modifier["modifier_group_ids"] if g not in groups]

    # Cycles: depth-first over group -> modifier -> group, with colours.
    colour: dict[str, int] = {}

    def visit(group_id: str) -> bool:
        colour[group_id] = 1
        for modifier_id in groups[group_id]["modifier_ids"]:
            for child in modifiers.get(modifier_id, {}).get("modifier_group_ids", []):
                if child in groups and (colour.get(child) == 1 or (child not in colour and not visit(child))):
                    return False
        colour[group_id] = 2
        return True

    if not all(visit(g) for g in groups if g not in colour):
        problems.append("cycle")
    return problems


def nesting_depth(menu: dict) -> int:
    groups = {g["id"]: g for g in menu["modifier_groups"]}
    modifiers = {m["id"]: m for m in menu["modifiers"]}
    memo: dict[str, int] = {}

    def depth(group_id: str) -> int:
        if group_id not in memo:
            children = [c for m in groups[group_id]["modifier_ids"] for c in modifiers[m]["modifier_group_ids"]]
            memo[group_id] = 1 + max((depth(c) for c in children), default=0)
        return memo[group_id]

    return max((depth(g) for item in menu["items"] for g in item["modifier_group_ids"]), default=0)


def test_small_menu_has_the_contract_shape():
    menu = generate_menu("ven_1", "men_1", 3, seed=1)
    assert set(menu) == MENU_KEYS
    assert (menu["menu_id"], menu["venue_id"], menu["version"], menu["currency"]) == ("men_1", "ven_1", 3, "USD")
    assert [h["day"] for h in menu["hours"]] == ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
    assert menu["hours"][0] == {"day": "MON", "open": "00:00", "close": "00:00"}
    item = menu["items"][0]
    assert set(item) == {
        "id",
        "name",
        "description",
        "price",
        "available",
        "image_url",
        "tax_rate",
        "modifier_group_ids",
    }
    assert item["tax_rate"].startswith("0.") and len(item["tax_rate"]) == 6
    assert set(menu["modifier_groups"][0]) == {"id", "name", "min_selections", "max_selections", "modifier_ids"}
    assert set(menu["modifiers"][0]) == {"id", "name", "price", "available", "modifier_group_ids"}
    assert set(menu["categories"][0]) == {"id", "name", "sort_order", "item_ids"}
    assert (len(menu["items"]), len(menu["modifier_groups"]), len(menu["modifiers"])) == (20, 5, 20)
    assert menu_problems(menu) == []
    assert nesting_depth(menu) == 1
    assert sorted(i for c in menu["categories"] for i in c["item_ids"]) == sorted(i["id"] for i in menu["items"])


def test_same_arguments_same_menu_and_hours_override():
    def make(**kw):
        return generate_menu("ven_1", "men_1", 1, seed=9, published_at="2026-11-27T09:00:00Z", **kw)

    assert make() == make()
    assert make() != make(groups=6)
    assert make(hours={"open": "10:00", "close": "22:00"})["hours"][6] == {
        "day": "SUN",
        "open": "10:00",
        "close": "22:00",
    }
    assert generate_menu("ven_1", "men_1", 2, seed=9) != make()


def test_big_nested_menu_is_valid():
    # How fast it is generated is a figure of `make bench` (tests/bench/menus.py), not a timed test.
    menu = generate_menu("ven_1", "men_1", 1, items=5000, groups=1000, modifiers=10000, depth=2)
    assert (len(menu["items"]), len(menu["modifier_groups"]), len(menu["modifiers"])) == (5000, 1000, 10000)
    assert menu_problems(menu) == []
    assert nesting_depth(menu) == 2


def test_deeper_and_odd_sizes_stay_valid():
    for kwargs in (
        {"depth": 3, "groups": 30, "modifiers": 90},
        {"depth": 4, "groups": 5, "modifiers": 3},
        {"items": 0, "groups": 0, "modifiers": 0},
        {"items": 1, "groups": 10, "modifiers": 0},
        {"items": 3, "categories": 10},
    ):
        menu = generate_menu("ven_1", "men_1", 1, **kwargs)
        assert menu_problems(menu) == [], kwargs
    assert nesting_depth(generate_menu("ven_1", "men_1", 1, depth=3, groups=30, modifiers=90)) == 3


def test_publish_serves_the_menu_at_menu_url(sandbox, control, api, receiver):
    published = control.publish_menu("ven_1", items=50, groups=10, modifiers=40, depth=2)
    assert (published["version"], published["counts"]["items"]) == (1, 50)
    control.wait_quiet(5)
    (event,) = receiver.events("menu.")
    assert event["type"] == "menu.published"
    assert event["data"] == {"menu_id": published["menu_id"], "version": 1, "menu_url": published["menu_url"]}
    assert event["data"]["menu_url"].startswith(sandbox.base_url)

    served = api.call("GET", event["data"]["menu_url"])
    assert served.status_code == 200
    assert served.json()["version"] == 1
    assert menu_problems(served.json()) == []
    assert api.call("GET", "/v2/venues/ven_1/menu").json() == served.json()
    assert api.call("GET", "/v2/venues/ven_1").json()["menu"] == {"menu_id": published["menu_id"], "version": 1}
    api.token = "not-a-token"
    assert api.call("GET", event["data"]["menu_url"]).status_code == 401

    assert control.publish_menu("ven_1")["version"] == 2


def test_unpublish(sandbox, control, api, receiver):
    published = control.publish_menu("ven_1")
    control.unpublish_menu("ven_1")
    assert api.call("GET", "/v2/venues/ven_1/menu").status_code == 404
    assert api.call("GET", published["menu_url"]).status_code == 404
    assert api.call("GET", "/v2/venues/ven_1").json()["menu"] is None
    control.wait_quiet(5)
    assert receiver.types("menu.") == ["menu.published", "menu.unpublished"]
    assert receiver.events("menu.unpublished")[0]["data"] == {"menu_id": published["menu_id"]}
    assert control.publish_menu("ven_1")["version"] == 2  # versions keep growing


def test_availability_changes_the_served_menu_in_place(sandbox, control, api, receiver):
    published = control.publish_menu("ven_1")
    control.set_availability(
        "ven_1", items=[{"id": "itm_2", "available": False}], modifiers=[{"id": "mod_3", "available": False}]
    )
    menu = api.call("GET", "/v2/venues/ven_1/menu").json()
    assert menu["version"] == published["version"]
    assert next(i for i in menu["items"] if i["id"] == "itm_2")["available"] is False
    assert next(m for m in menu["modifiers"] if m["id"] == "mod_3")["available"] is False
    assert next(i for i in menu["items"] if i["id"] == "itm_1")["available"] is True
    control.wait_quiet(5)
    (event,) = receiver.events("menu.availability_changed")
    assert event["data"] == {
        "menu_id": published["menu_id"],
        "items": [{"id": "itm_2", "available": False}],
        "modifiers": [{"id": "mod_3", "available": False}],
    }


def test_availability_of_unknown_entries_is_refused(sandbox, control):
    import requests

    control.publish_menu("ven_1")
    response = requests.post(
        f"{sandbox.base_url}/_sandbox/venues/ven_1/availability",
        json={"items": [{"id": "itm_999", "available": False}]},
        timeout=5,
    )
    assert response.status_code == 422
    assert "items[0].id" in response.json()["error"]["details"]

"""The Menu document validator: every defect is named, readably, with where it is."""

import pytest

from integration.link.menus import MenuInvalid, menu_hash, parse_menu
from tests.menus import build_menu, find, with_changes


def problems_of(doc) -> str:
    with pytest.raises(MenuInvalid) as caught:
        parse_menu(doc)
    return caught.value.message


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_built_menus_are_valid_at_any_depth(depth):
    doc = build_menu(items=40, groups=12, modifiers=36, depth=depth)
    parsed = parse_menu(doc)
    assert (len(parsed.items), len(parsed.groups), len(parsed.modifiers)) == (40, 12, 36)
    nested = sum(len(m.group_ids) for m in parsed.modifiers)
    assert nested == (0 if depth == 1 else sum(1 for g in doc["modifier_groups"] if "level" in g["name"]))


def test_parsed_menu_keeps_values_in_our_terms():
    doc = build_menu(items=1, groups=1, modifiers=1, hours=[{"day": "MON", "open": "10:00", "close": "22:00"}])
    parsed = parse_menu(doc)
    item = parsed.items[0]
    assert (item.link_id, item.price, str(item.tax_rate), item.group_ids) == ("itm_1", 899, "0.0875", ["mg_1"])
    assert parsed.hours == [{"day": "MON", "open": "10:00", "close": "22:00"}]
    assert parsed.published_at.isoformat() == "2026-11-27T09:00:00+00:00"


def _defect(mutate):
    doc = build_menu(items=3, groups=2, modifiers=4, depth=2)
    mutate(doc)
    return doc


DEFECTS = {
    "item id referenced, not defined": (
        lambda d: d["categories"][0]["item_ids"].append("itm_404"),
        "categories 'cat_1': refers to items 'itm_404', not defined in the menu",
    ),
    "group id referenced, not defined": (
        lambda d: find(d, "items", "itm_2")["modifier_group_ids"].append("mg_404"),
        "items 'itm_2': refers to modifier_groups 'mg_404', not defined in the menu",
    ),
    "modifier id referenced, not defined": (
        lambda d: find(d, "modifier_groups", "mg_1")["modifier_ids"].append("mod_404"),
        "modifier_groups 'mg_1': refers to modifiers 'mod_404', not defined in the menu",
    ),
    "duplicate item id": (
        lambda d: d["items"].append(dict(d["items"][0])),
        "items: id 'itm_1' is defined 2 times",
    ),
    "duplicate modifier id": (
        lambda d: d["modifiers"].append(dict(d["modifiers"][1])),
        "modifiers: id 'mod_2' is defined 2 times",
    ),
    "same item listed twice in a category": (
        lambda d: d["categories"][0]["item_ids"].append("itm_1"),
        "categories[0] 'cat_1': item_ids lists itm_1 more than once",
    ),
    "modifier nesting cycle": (
        lambda d: find(d, "modifiers", "mod_3")["modifier_group_ids"].append("mg_1"),
        "modifier nesting: cycle mg_1 -> mod_1 -> mg_2 -> mod_3 -> mg_1",
    ),
    "modifier opens its own group": (
        lambda d: find(d, "modifiers", "mod_2")["modifier_group_ids"].append("mg_1"),
        "modifier nesting: cycle mg_1 -> mod_2 -> mg_1",
    ),
    "negative item price": (
        lambda d: find(d, "items", "itm_3").update(price=-100),
        "items[2] 'itm_3': price -100 is negative",
    ),
    "negative modifier price": (
        lambda d: find(d, "modifiers", "mod_4").update(price=-1),
        "modifiers[3] 'mod_4': price -1 is negative",
    ),
    "min > max": (
        lambda d: find(d, "modifier_groups", "mg_1").update(min_selections=3, max_selections=1),
        "modifier_groups[0] 'mg_1': min_selections 3 is greater than max_selections 1",
    ),
    "price not an integer": (
        lambda d: find(d, "items", "itm_1").update(price="8.99"),
        "items[0] 'itm_1': price must be an integer, not '8.99'",
    ),
    "item without a name": (
        lambda d: find(d, "items", "itm_1").pop("name"),
        "items[0] 'itm_1': name must be a string, not NoneType",
    ),
    "items not a list": (lambda d: d.update(items={"itm_1": {}}), "items: must be a list"),
    "entry without id": (lambda d: d["modifiers"][0].pop("id"), "modifiers[0]: id must be a non-empty string"),
    "bad tax rate": (
        lambda d: find(d, "items", "itm_1").update(tax_rate="8.75%"),
        "items[0] 'itm_1': tax_rate '8.75%' is not a number",
    ),
    "bad hours": (
        lambda d: d.update(hours=[{"day": "MONDAY", "open": "25:00", "close": "22:00"}]),
        "hours[0]: day 'MONDAY' is not one of MON, TUE, WED, THU, FRI, SAT, SUN; "
        "hours[0]: open '25:00' is not a time HH:MM",
    ),
    "bad currency": (lambda d: d.update(currency="dollars"), "currency: 'dollars' is not an ISO 4217 code"),
    "version missing": (lambda d: d.pop("version"), "version must be a non-negative integer, not None"),
    "available not a boolean": (
        lambda d: find(d, "modifiers", "mod_1").update(available="yes"),
        "modifiers[0] 'mod_1': available must be true or false, not 'yes'",
    ),
}


@pytest.mark.parametrize("name", list(DEFECTS))
def test_each_defect_is_refused_with_a_readable_reason(name):
    mutate, expected = DEFECTS[name]
    message = problems_of(_defect(mutate))
    assert message.startswith("Menu refused (")
    assert expected in message


def test_every_problem_is_listed_not_only_the_first():
    def mutate(d):
        find(d, "items", "itm_1")["price"] = -5
        find(d, "modifier_groups", "mg_2")["min_selections"] = 9
        d["categories"][0]["item_ids"].append("itm_x")

    message = problems_of(_defect(mutate))
    assert message.startswith("Menu refused (3 problems)")
    assert "price -5 is negative" in message and "min_selections 9" in message and "'itm_x'" in message


def test_many_problems_are_capped_in_the_message():
    doc = build_menu(items=60, groups=1, modifiers=1)
    for item in doc["items"]:
        item["price"] = -1
    message = problems_of(doc)
    assert message.startswith("Menu refused (60 problems)") and message.endswith("; and 35 more")


def test_not_an_object_is_refused():
    assert "must be a JSON object, not list" in problems_of([1, 2])


def test_hash_ignores_key_order_version_and_published_at_but_not_content():
    doc = build_menu(items=5, groups=2, modifiers=4)
    reordered = dict(reversed(list(doc.items())))
    assert menu_hash(reordered) == menu_hash(doc)
    assert menu_hash(with_changes(doc, version=9, published_at="2026-12-01T00:00:00Z")) == menu_hash(doc)
    cheaper = with_changes(doc)
    cheaper["items"][0]["price"] -= 1
    assert menu_hash(cheaper) != menu_hash(doc)


def test_max_selections_zero_means_no_upper_limit():
    doc = build_menu(items=1, groups=1, modifiers=3)
    find(doc, "modifier_groups", "mg_1").update(min_selections=2, max_selections=0)
    group = parse_menu(doc).groups[0]
    assert (group.min_selections, group.max_selections) == (2, 0)

"""Issue 11 row 4: menus nest no deeper than an order may (4 levels), refused at validation with the place."""

import pytest

from integration.link.menus import MAX_NESTING, MenuInvalid, menu_hash, parse_menu
from tests.menus import build_menu


def chained(groups: int, modifiers_per_group: int = 1, opens_all_deeper: bool = False) -> dict:
    """Groups g0..gN; each modifier of g_i opens g_i+1 (or every deeper group); the item opens g0."""
    doc = build_menu(items=1, groups=0, modifiers=0)
    doc["modifier_groups"], doc["modifiers"] = [], []
    for g in range(groups):
        ids = [f"m{g}_{k}" for k in range(modifiers_per_group)]
        doc["modifier_groups"].append({"id": f"g{g}", "name": f"G{g}", "modifier_ids": ids})
        deeper = range(g + 1, groups) if opens_all_deeper else range(g + 1, min(g + 2, groups))
        for mid in ids:
            doc["modifiers"].append(
                {"id": mid, "name": mid, "price": 0, "modifier_group_ids": [f"g{n}" for n in deeper]}
            )
    doc["items"][0]["modifier_group_ids"] = ["g0"] if groups else []
    return doc


def test_an_order_deep_menu_is_accepted():
    assert len(parse_menu(chained(MAX_NESTING)).groups) == MAX_NESTING


@pytest.mark.parametrize(
    ("doc", "deepest"),
    [
        (chained(MAX_NESTING + 1), "g4"),
        (chained(150), "g4"),
        (chained(22, modifiers_per_group=2, opens_all_deeper=True), "g4"),
    ],
    ids=["one-too-deep", "chain-150", "44-modifiers-reopening-22-deep"],
)
def test_deeper_nesting_is_refused_naming_the_place(doc, deepest):
    with pytest.raises(MenuInvalid) as refused:
        parse_menu(doc)
    problems = [p for p in refused.value.problems if "nests more than 4 levels deep" in p]
    assert len(problems) == 1
    assert problems[0].startswith(f"modifier_groups {deepest!r}: ") and "g0 -> m0_0 -> g1" in problems[0]


def test_depth_counts_from_any_group_not_only_an_items():
    doc = chained(MAX_NESTING + 1)
    doc["items"][0]["modifier_group_ids"] = []
    with pytest.raises(MenuInvalid, match="nests more than 4 levels deep"):
        parse_menu(doc)


# Issue 23 H6: what validates must also fit PostgreSQL (no NUL, no lone surrogate, integers in range).


def test_h6_every_unstorable_string_and_integer_is_named_in_one_refusal():
    doc = build_menu(items=2, groups=1, modifiers=1)
    doc["categories"][0]["name"] = "Bur\x00gers"
    doc["categories"][0]["sort_order"] = 2**40
    doc["items"][0]["description"] = "caf\udce9"
    doc["modifier_groups"][0]["name"] = "Sauce\x00"
    doc["modifiers"][0]["id"] = "mod_\ud83d"
    with pytest.raises(MenuInvalid) as refused:
        parse_menu(doc)
    problems = "\n".join(refused.value.problems)
    assert "categories[0] 'cat_1': name contains a NUL character" in problems
    assert f"sort_order {2**40} is over 2147483647" in problems
    assert "items[0] 'itm_1': description contains a lone surrogate (U+DCE9)" in problems
    assert "modifier_groups[0] 'mg_1': name contains a NUL character" in problems
    assert "id contains a lone surrogate (U+D83D)" in problems
    assert "\x00" not in refused.value.message and "\ud83d" not in refused.value.message  # the reason is storable
    refused.value.message.encode("utf-8")


def test_h6_a_lone_surrogate_outside_the_known_fields_is_hashed_and_not_stored():
    doc = build_menu(items=2)
    doc["x_vendor_note"] = "\ud800"
    assert len(menu_hash(doc)) == 64
    assert len(parse_menu(doc).items) == 2


def test_h6_hours_with_a_trailing_newline_are_refused():
    doc = build_menu(items=1, hours=[{"day": "MON", "open": "10:00\n", "close": "22:00"}])
    with pytest.raises(MenuInvalid, match="open '10:00\\\\n' is not a time HH:MM"):
        parse_menu(doc)

"""Issue 11 row 4: menus nest no deeper than an order may (4 levels), refused at validation with the place."""

import pytest

from integration.link.menus import MAX_NESTING, MenuInvalid, parse_menu
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

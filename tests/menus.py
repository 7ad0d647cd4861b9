"""Menus for tests: contract-shaped documents (link-contract.md section 4) of any size.

``build_menu()`` gives a small valid menu; sizes and nesting depth are arguments. Ids are
predictable: ``cat_1..``, ``itm_1..``, ``mg_1..``, ``mod_1..``. Item i (1-based) is in category
``cat_{(i-1)//items_per_category+1}`` and opens ``groups_per_item`` top-level groups; modifiers are
split into contiguous blocks over the groups; each deeper group is opened by one modifier of a
group one level up, so ``depth`` levels nest without cycles.

``publish_menu(store, **kwargs)`` puts a built menu live for ``store`` through the real ingest.
"""

import copy

from integration.link.menus import DAYS


def _levels(groups: int, depth: int) -> list[int]:
    """Level of each group: most on level 1; a fifth (at least one each) spread over 2..depth."""
    if depth <= 1 or groups < 2:
        return [1] * groups
    deeper_levels = min(depth - 1, groups - 1)
    deeper = max(deeper_levels, groups // 5)
    levels = [1] * (groups - deeper)
    for n in range(deeper):
        levels.append(2 + n * deeper_levels // deeper)
    return levels


def build_menu(
    *,
    items: int = 3,
    groups: int = 2,
    modifiers: int = 4,
    depth: int = 1,
    categories: int | None = None,
    groups_per_item: int = 2,
    menu_id: str = "men_1",
    venue_id: str = "ven_1",
    version: int = 1,
    currency: str = "USD",
    hours: list[dict] | None = None,
    published_at: str = "2026-11-27T09:00:00Z",
    item_price: int = 899,
    modifier_price: int = 150,
    tax_rate: str = "0.0875",
) -> dict:
    """A valid menu document. ``hours=None`` means none (always open); pass a list for real hours."""
    levels = _levels(groups, depth)
    level_of = dict(enumerate(levels))
    n_cats = categories if categories is not None else max(1, min(items, items // 50 or 1))
    per_cat = -(-items // n_cats) if items else 0

    group_list = []
    modifier_group = {}  # modifier index -> index of the group that holds it
    for g in range(groups):
        if modifiers >= groups:
            members = list(range(g * modifiers // groups, (g + 1) * modifiers // groups))
        else:
            members = [g % modifiers] if modifiers else []
        for m in members:
            modifier_group.setdefault(m, g)
        group_list.append(
            {
                "id": f"mg_{g + 1}",
                "name": f"Group {g + 1}" if levels[g] == 1 else f"Group {g + 1} (level {levels[g]})",
                "min_selections": 0,
                "max_selections": max(1, min(3, len(members))),
                "modifier_ids": [f"mod_{m + 1}" for m in members],
            }
        )

    modifier_list = [
        {
            "id": f"mod_{m + 1}",
            "name": f"Modifier {m + 1}",
            "price": modifier_price + (m % 4) * 25,
            "available": True,
            "modifier_group_ids": [],
        }
        for m in range(modifiers)
    ]

    # Each group of level L >= 2 is opened by a modifier of a level L-1 group, round robin.
    openers: dict[int, list[int]] = {}
    for m, g in modifier_group.items():
        openers.setdefault(level_of[g], []).append(m)
    turn: dict[int, int] = {}
    for g, level in enumerate(levels):
        if level == 1:
            continue
        pool = openers.get(level - 1)
        if not pool:
            continue
        m = pool[turn.get(level, 0) % len(pool)]
        turn[level] = turn.get(level, 0) + 1
        modifier_list[m]["modifier_group_ids"].append(f"mg_{g + 1}")

    top = [g for g, level in enumerate(levels) if level == 1]
    item_list = []
    for i in range(items):
        opened = []
        if top:
            for k in range(min(groups_per_item, len(top))):
                opened.append(f"mg_{top[(i * groups_per_item + k) % len(top)] + 1}")
        item_list.append(
            {
                "id": f"itm_{i + 1}",
                "name": f"Item {i + 1}",
                "description": f"Description of item {i + 1}",
                "price": item_price + (i % 10) * 50,
                "available": True,
                "image_url": None,
                "tax_rate": tax_rate,
                "modifier_group_ids": list(dict.fromkeys(opened)),
            }
        )

    category_list = [
        {
            "id": f"cat_{c + 1}",
            "name": f"Category {c + 1}",
            "sort_order": c + 1,
            "item_ids": [f"itm_{i + 1}" for i in range(c * per_cat, min(items, (c + 1) * per_cat))],
        }
        for c in range(n_cats if items else 0)
    ]

    return {
        "menu_id": menu_id,
        "venue_id": venue_id,
        "version": version,
        "currency": currency,
        "published_at": published_at,
        "hours": list(hours) if hours is not None else [],
        "categories": category_list,
        "items": item_list,
        "modifier_groups": group_list,
        "modifiers": modifier_list,
    }


def every_day(open_: str = "00:00", close: str = "24:00") -> list[dict]:
    return [{"day": day, "open": open_, "close": close} for day in DAYS]


def with_changes(menu: dict, **changes) -> dict:
    """A deep copy of ``menu`` with top-level keys replaced (e.g. ``version=8``)."""
    changed = copy.deepcopy(menu)
    changed.update(changes)
    return changed


def find(menu: dict, key: str, link_id: str) -> dict:
    """The entry ``link_id`` of ``menu[key]`` (to edit it in a test)."""
    return next(entry for entry in menu[key] if entry["id"] == link_id)


def publish_menu(store, **kwargs):
    """Ingest a built menu for ``store`` (PUBLISHED, rows written); returns the Menu."""
    from integration.services.menus.ingest import menu_ingest

    kwargs.setdefault("venue_id", store.venue_id)
    result = menu_ingest(store, build_menu(**kwargs))
    assert result.outcome == "ingested", result.message
    return result.menu

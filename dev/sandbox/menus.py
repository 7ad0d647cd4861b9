"""Generated menus in the contract's Menu shape (section 4), from a handful of items to many thousands.

Nesting without cycles: every modifier group gets a level from 1 to ``depth``. Items open level-1
groups; a modifier opens only groups of a level above every group it belongs to. Levels only
grow along a path, so no path can come back to where it started.
"""

import copy
import time

from .util import rfc3339, rng_for

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
TAX_RATES = ("0.0875", "0.0725", "0.0600", "0.0825", "0.0950")

CATEGORIES = {
    "Burgers": ["Cheeseburger", "Bacon Burger", "Mushroom Swiss Burger", "Veggie Burger", "Double Smash"],
    "Pizza": ["Margherita", "Pepperoni Pizza", "Four Cheese Pizza", "Hawaiian Pizza", "Veggie Supreme"],
    "Salads": ["Caesar Salad", "Greek Salad", "Cobb Salad", "Garden Salad", "Quinoa Salad"],
    "Bowls": ["Teriyaki Bowl", "Poke Bowl", "Burrito Bowl", "Falafel Bowl", "Bibimbap"],
    "Sandwiches": ["Club Sandwich", "BLT", "Grilled Cheese", "Turkey Melt", "Reuben"],
    "Tacos": ["Carnitas Taco", "Fish Taco", "Al Pastor Taco", "Chicken Tinga Taco", "Veggie Taco"],
    "Pasta": ["Spaghetti Bolognese", "Penne Arrabbiata", "Fettuccine Alfredo", "Pesto Linguine", "Lasagna"],
    "Sushi": ["California Roll", "Spicy Tuna Roll", "Salmon Nigiri", "Dragon Roll", "Veggie Roll"],
    "Soups": ["Tomato Soup", "Chicken Noodle Soup", "Miso Soup", "Clam Chowder", "Lentil Soup"],
    "Breakfast": ["Pancake Stack", "Breakfast Burrito", "Avocado Toast", "Eggs Benedict", "Omelette"],
    "Wings": ["Buffalo Wings", "BBQ Wings", "Garlic Parmesan Wings", "Lemon Pepper Wings", "Boneless Wings"],
    "Sides": ["Fries", "Onion Rings", "Mac and Cheese", "Coleslaw", "Sweet Potato Fries"],
    "Kids": ["Kids Burger", "Chicken Tenders", "Kids Pasta", "Mini Quesadilla", "Kids Grilled Cheese"],
    "Desserts": ["Chocolate Cake", "Cheesecake", "Brownie", "Apple Pie", "Ice Cream Sundae"],
    "Drinks": ["Lemonade", "Iced Tea", "Cola", "Sparkling Water", "Cold Brew"],
    "Specials": ["Chef's Special", "Seasonal Plate", "Market Fish", "Daily Roast", "Family Feast"],
}
ADJECTIVES = ["Classic", "Spicy", "Smoky", "House", "Crispy", "Loaded", "Grilled", "Signature", "Fresh", "Golden"]

# (group name, modifier names, whether a choice is required)
GROUP_THEMES = [
    ("Choose a size", ["Small", "Medium", "Large", "Extra Large"], True),
    ("Add-ons", ["Bacon", "Avocado", "Extra Cheese", "Fried Egg", "Jalapenos", "Mushrooms", "Grilled Onions"], False),
    ("Sauce", ["Ketchup", "Mayo", "BBQ Sauce", "Ranch", "Sriracha Mayo", "Honey Mustard", "Garlic Aioli"], False),
    ("Choose a side", ["Fries", "Side Salad", "Onion Rings", "Coleslaw", "Sweet Potato Fries"], True),
    ("Choose a drink", ["Cola", "Diet Cola", "Lemonade", "Iced Tea", "Water"], True),
    ("Cook temperature", ["Rare", "Medium Rare", "Medium", "Medium Well", "Well Done"], True),
    ("Bread", ["White", "Wheat", "Sourdough", "Brioche", "Gluten-Free Bun"], True),
    ("Dressing", ["Caesar", "Ranch", "Balsamic", "Blue Cheese", "Lemon Vinaigrette"], False),
    ("Protein", ["Chicken", "Steak", "Tofu", "Shrimp", "Salmon", "Pulled Pork"], True),
    ("Toppings", ["Lettuce", "Tomato", "Pickles", "Red Onion", "Olives", "Peppers", "Corn"], False),
    ("Spice level", ["Mild", "Medium", "Hot", "Extra Hot"], True),
    ("Remove", ["No Onions", "No Pickles", "No Tomato", "No Cheese", "No Sauce"], False),
]
MODIFIER_PRICES = (0, 0, 0, 50, 75, 100, 125, 150, 200, 250, 300)


def _name(pool: list[str], index: int) -> str:
    """The index-th name from pool, numbered once the pool runs out ("Bacon", ..., "Bacon 2")."""
    base = pool[index % len(pool)]
    return base if index < len(pool) else f"{base} {index // len(pool) + 1}"


def _hours(hours) -> list[dict]:
    if hours is None:
        return [{"day": day, "open": "00:00", "close": "00:00"} for day in DAYS]
    if isinstance(hours, dict):
        return [{"day": day, "open": hours["open"], "close": hours["close"]} for day in DAYS]
    return [dict(entry) for entry in hours]


def _levels(groups: int, depth: int) -> list[int]:
    """Level (1..depth) of each group: about 70% on level 1, the rest shared by the deeper levels."""
    if depth <= 1 or groups < 2:
        return [1] * groups
    deeper = min(depth - 1, groups - 1)
    top = max(1, min(groups - deeper, round(groups * 0.7)))
    levels = [1] * top
    rest = groups - top
    for level in range(2, deeper + 2):
        share = rest // (deeper - (level - 2))
        levels += [level] * share
        rest -= share
    return levels


def generate_menu(
    venue_id: str,
    menu_id: str,
    version: int,
    *,
    items: int = 20,
    categories: int | None = None,
    groups: int = 5,
    modifiers: int = 20,
    depth: int = 1,
    currency: str = "USD",
    seed: int = 0,
    hours: list[dict] | dict | None = None,
    published_at: str | None = None,
) -> dict:
    """A valid menu: every id defined, no cycles, ``0 <= min <= max <= len(modifier_ids)``.

    ``hours`` is a list of ``{day, open, close}`` or one ``{open, close}`` for every day; by
    default every day runs 00:00-00:00 (the whole day) so orders can always flow. The same arguments always give
    the same menu, ``published_at`` aside (now unless given).
    """
    rng = rng_for(seed, "menu", venue_id, menu_id, version)
    n_items, n_groups, n_mods = max(0, items), max(0, groups), max(0, modifiers)
    if categories is None:
        categories = min(len(CATEGORIES), max(1, n_items // 6))
    n_cats = max(1, min(categories, n_items)) if n_items else 0

    # Modifier groups, and which modifiers each holds: contiguous blocks of near-equal size.
    group_levels = _levels(n_groups, depth)
    group_list, mod_level, mod_theme = [], [0] * n_mods, [None] * n_mods
    for g in range(n_groups):
        if n_mods >= n_groups:
            members = list(range(g * n_mods // n_groups, (g + 1) * n_mods // n_groups))
        else:
            members = [g % n_mods] if n_mods else []
        name, pool, required = GROUP_THEMES[rng.randrange(len(GROUP_THEMES))]
        size = len(members)
        low = 1 if required and size else 0
        high = (1 if required else rng.randint(1, size)) if size else 0
        group_list.append(
            {
                "id": f"mg_{g + 1}",
                "name": name if group_levels[g] == 1 else f"{name} (extra)",
                "min_selections": low,
                "max_selections": max(low, high),
                "modifier_ids": [f"mod_{m + 1}" for m in members],
            }
        )
        for m in members:
            mod_level[m] = max(mod_level[m], group_levels[g])
            if mod_theme[m] is None:
                mod_theme[m] = (pool, members.index(m))

    modifier_list = []
    for m in range(n_mods):
        pool, index = mod_theme[m] or (GROUP_THEMES[1][1], m)
        modifier_list.append(
            {
                "id": f"mod_{m + 1}",
                "name": _name(pool, index),
                "price": rng.choice(MODIFIER_PRICES),
                "available": True,
                "modifier_group_ids": [],
            }
        )

    # Nesting: each deeper group is opened by one modifier of the level just above it.
    by_level: dict[int, list[int]] = {}
    for m, level in enumerate(mod_level):
        by_level.setdefault(level, []).append(m)
    for g, level in enumerate(group_levels):
        openers = by_level.get(level - 1) if level > 1 else None
        if openers:
            modifier_list[rng.choice(openers)]["modifier_group_ids"].append(f"mg_{g + 1}")

    # Items: each opens 0-3 level-1 groups; every level-1 group is used by at least one item.
    top_groups = [f"mg_{g + 1}" for g, level in enumerate(group_levels) if level == 1]
    category_names = list(CATEGORIES)
    category_list = [
        {"id": f"cat_{c + 1}", "name": _name(category_names, c), "sort_order": c + 1, "item_ids": []}
        for c in range(n_cats)
    ]
    tax_rate = rng.choice(TAX_RATES)
    item_list = []
    for i in range(n_items):
        c = i if i < n_cats else rng.randrange(n_cats)
        noun = rng.choice(CATEGORIES[category_names[c % len(category_names)]])
        wanted = min(len(top_groups), rng.choice((0, 1, 1, 2, 2, 3)))
        item_list.append(
            {
                "id": f"itm_{i + 1}",
                "name": f"{rng.choice(ADJECTIVES)} {noun}",
                "description": f"{noun}, made to order.",
                "price": rng.randint(3, 30) * 100 - rng.choice((1, 1, 51)),
                "available": True,
                "image_url": None,
                "tax_rate": tax_rate,
                "modifier_group_ids": rng.sample(top_groups, wanted),
            }
        )
        category_list[c]["item_ids"].append(f"itm_{i + 1}")
    if item_list:
        for group_id in top_groups:
            chosen = item_list[rng.randrange(n_items)]["modifier_group_ids"]
            if group_id not in chosen:
                chosen.append(group_id)

    return {
        "menu_id": menu_id,
        "venue_id": venue_id,
        "version": version,
        "currency": currency,
        "published_at": published_at or rfc3339(),
        "hours": _hours(hours),
        "categories": category_list,
        "items": item_list,
        "modifier_groups": group_list,
        "modifiers": modifier_list,
    }


def edit_menu(previous: dict, edits: dict, version: int, published_at: str | None = None) -> dict:
    """The previous version with ``edits`` applied, as version ``version`` (for tests of what changed):
    ``{"prices": {item_or_modifier_id: price}, "remove_items": [ids], "add_items": [{"id", "name", "price",
    "category_id"}]}``. Unknown ids raise KeyError."""
    menu = copy.deepcopy(previous)
    menu["version"] = version
    menu["published_at"] = published_at or rfc3339()
    entries = {row["id"]: row for key in ("items", "modifiers") for row in menu[key]}
    for entry_id, price in (edits.get("prices") or {}).items():
        entries[entry_id]["price"] = int(price)
    removed = set(edits.get("remove_items") or ())
    unknown = removed - entries.keys()
    if unknown:
        raise KeyError(sorted(unknown)[0])
    menu["items"] = [row for row in menu["items"] if row["id"] not in removed]
    categories = {row["id"]: row for row in menu["categories"]}
    for category in menu["categories"]:
        category["item_ids"] = [i for i in category["item_ids"] if i not in removed]
    for added in edits.get("add_items") or ():
        category = categories[added.get("category_id") or menu["categories"][0]["id"]]
        tax_rate = menu["items"][0]["tax_rate"] if menu["items"] else "0"
        menu["items"].append(
            {
                "id": added["id"],
                "name": added.get("name", added["id"]),
                "description": added.get("description", ""),
                "price": int(added["price"]),
                "available": True,
                "image_url": None,
                "tax_rate": tax_rate,
                "modifier_group_ids": [],
            }
        )
        category["item_ids"].append(added["id"])
    return menu


def menu_counts(menu: dict) -> dict:
    return {key: len(menu[key]) for key in ("categories", "items", "modifier_groups", "modifiers")}


if __name__ == "__main__":  # quick timing: python -m dev.sandbox.menus
    started = time.perf_counter()
    big = generate_menu("ven_1", "men_1", 1, items=5000, groups=1000, modifiers=10000, depth=2)
    print(menu_counts(big), f"{time.perf_counter() - started:.3f}s")

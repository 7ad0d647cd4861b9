"""The marketplace's layer over Link's catalog (issue 27): the price rule that wins for a store, the
store's content overrides, and the catalog as the customer sees it (our prices and words beside
Link's, hidden items gone)."""

import hashlib
from dataclasses import dataclass, field

from django.db.models import Count, Max

from integration.models import ItemOverride, MenuItem, PriceRule, Store


def price_rule_for_store(store: Store) -> PriceRule | None:
    """The most specific rule: the newest naming the store, else the newest naming no store (every store)."""
    own = PriceRule.objects.filter(stores=store).order_by("-id").first()
    return own or PriceRule.objects.filter(stores__isnull=True).order_by("-id").first()


def price_rules_for_api():
    return PriceRule.objects.prefetch_related("stores").order_by("id")


def item_overrides_for_store(store: Store, item_ids=None) -> dict[str, ItemOverride]:
    overrides = ItemOverride.objects.filter(store=store)
    if item_ids is not None:
        overrides = overrides.filter(item_id__in=item_ids)
    return {o.item_id: o for o in overrides}


def item_overrides_with_orphans(store: Store) -> list[dict]:
    """Every override of the store, each saying whether Link's live menu still has its item."""
    overrides = list(ItemOverride.objects.filter(store=store).order_by("item_id"))
    live = set(
        MenuItem.objects.filter(menu__store=store, link_id__in=[o.item_id for o in overrides]).values_list(
            "link_id", flat=True
        )
    )
    return [{"override": o, "orphaned": o.item_id not in live} for o in overrides]


@dataclass
class Layer:
    rule: PriceRule | None
    overrides: dict[str, ItemOverride] = field(default_factory=dict)

    @property
    def hidden(self) -> set[str]:
        return {item_id for item_id, o in self.overrides.items() if o.hidden}


def layer_for_store(store: Store, item_ids=None) -> Layer:
    return Layer(price_rule_for_store(store), item_overrides_for_store(store, item_ids))


def layer_etag_part(store: Store) -> str:
    """Changes whenever the store's winning rule or any of its overrides does (added, changed, dropped)."""
    rule = price_rule_for_store(store)
    stats = ItemOverride.objects.filter(store=store).aggregate(n=Count("id"), at=Max("updated_at"))
    raw = f"{rule.pk if rule else 0}:{rule.updated_at.timestamp() if rule else 0}:{stats['n']}:{stats['at']}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def catalog_with_layer(catalog: dict, store: Store) -> dict:
    """``menu_catalog``'s plain data with our layer: items and modifiers carry ``price`` (ours) and
    ``link_price``; items ``name``/``description``/``image_url`` (ours where overridden) and
    ``link_name``/``link_description``; hidden items leave the catalog (a category left empty too)."""
    from integration.services.menus.price_rules import price_rule_apply

    layer = layer_for_store(store)
    rule = layer.rule
    seen: set[int] = set()
    for group in catalog["modifier_groups"]:
        for modifier in group["modifiers"]:
            if id(modifier) in seen:
                continue
            seen.add(id(modifier))
            modifier["link_price"] = modifier["price"]
            modifier["price"] = price_rule_apply(rule, modifier["price"])
    hidden = layer.hidden
    categories = []
    for category in catalog["categories"]:
        items = []
        for item in category["items"]:
            if item["id"] in hidden:
                continue
            items.append(item)
            if id(item) in seen:
                continue
            seen.add(id(item))
            item["link_price"] = item["price"]
            item["price"] = price_rule_apply(rule, item["price"], item_id=item["id"])
            item["link_name"], item["link_description"] = item["name"], item["description"]
            override = layer.overrides.get(item["id"])
            if override is not None:
                item["name"] = override.name if override.name is not None else item["name"]
                if override.description is not None:
                    item["description"] = override.description
                if override.image_url is not None:
                    item["image_url"] = override.image_url or None
        if items:
            category["items"] = items
            categories.append(category)
    catalog["categories"] = categories
    return catalog


PREVIEW_STORES = 10
PREVIEW_ROWS = 15


def price_rule_preview(candidate: PriceRule, stores: list[Store], *, rule_id: int | None = None) -> dict:
    """What saving ``candidate`` (unsaved; ``stores`` its stores, [] = every store) would change: per store
    where it would win (up to PREVIEW_STORES with a published menu), how many items and modifiers change
    price and a sample of items with Link's price, today's and the new one. ``rule_id``: the rule edited."""
    from integration.models import Menu, Modifier
    from integration.services.menus.price_rules import price_rule_apply

    menus = Menu.objects.filter(state=Menu.State.PUBLISHED).select_related("store").order_by("store_id")
    if stores:
        menus = menus.filter(store__in=stores)
    total = menus.count()
    shown = []
    for menu in menus[:PREVIEW_STORES]:
        store = menu.store
        current = price_rule_for_store(store)
        if not stores:
            own = PriceRule.objects.filter(stores=store)
            if (own.exclude(pk=rule_id) if rule_id is not None else own).exists():
                shown.append({"store": store, "wins": False, "current": current})
                continue
        items = list(MenuItem.objects.filter(menu=menu).order_by("id").values_list("link_id", "name", "price"))
        modifier_prices = list(Modifier.objects.filter(menu=menu).values_list("price", flat=True))
        changed_items, rows = 0, list[dict]()
        for link_id, name, link_price in items:
            now = price_rule_apply(current, link_price, item_id=link_id)
            new = price_rule_apply(candidate, link_price, item_id=link_id)
            changed_items += now != new
            if len(rows) < PREVIEW_ROWS:
                rows.append({"id": link_id, "name": name, "link": link_price, "now": now, "new": new})
        changed_modifiers = sum(price_rule_apply(current, p) != price_rule_apply(candidate, p) for p in modifier_prices)
        shown.append(
            {
                "store": store,
                "wins": True,
                "current": current,
                "currency": menu.currency,
                "items": len(items),
                "changed_items": changed_items,
                "modifiers": len(modifier_prices),
                "changed_modifiers": changed_modifiers,
                "rows": rows,
            }
        )
    return {"stores": shown, "total": total, "more": max(0, total - PREVIEW_STORES)}

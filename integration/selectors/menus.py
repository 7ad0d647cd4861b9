"""Menus: the published catalog as plain data, and its ETag."""

import threading
import zlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.renderers import JSONRenderer

from integration.link.menus import is_web_url
from integration.models import Store
from integration.models import menu as catalog


def menus_for_admin():
    return catalog.Menu.objects.select_related("store")


def menu_etag(menu: catalog.Menu, store: Store) -> str:
    """Changes whenever the catalog does (ingest, availability flip, publication, the storefront
    id it names); computed from two rows already loaded, so a 304 costs no catalog queries."""
    storefront = zlib.crc32((store.external_store_id or "").encode())
    return f'"m{menu.pk}-v{menu.version}-r{menu.revision}-s{storefront:x}"'


def menu_catalog(menu: catalog.Menu) -> dict:
    """The published catalog as plain data: categories -> items; modifier groups -> modifiers.

    Items name their groups by id and groups are listed once (a group is shared by many items and
    modifiers may open groups of their own; inlining would repeat it, and grow with the nesting).
    A fixed number of queries whatever the size: one per table, stitched together here.
    """
    rates: dict = {}  # few distinct tax rates: format each once

    def rate(value) -> str:
        text = rates.get(value)
        if text is None:
            text = rates[value] = f"{value.normalize():f}"
        return text

    items: dict[int, dict[str, Any]] = {
        pk: {
            "id": link_id,
            "name": name,
            "description": description,
            "price": price,
            "available": available,
            "image_url": image_url if is_web_url(image_url) else None,  # rows stored before ingest dropped others
            "tax_rate": rate(tax_rate),
            "modifier_group_ids": [],
        }
        for pk, link_id, name, description, price, available, image_url, tax_rate in catalog.MenuItem.objects.filter(
            menu=menu
        ).values_list("pk", "link_id", "name", "description", "price", "available", "image_url", "tax_rate")
    }
    groups: dict[int, dict[str, Any]] = {
        pk: {"id": link_id, "name": name, "min_selections": low, "max_selections": high, "modifiers": []}
        for pk, link_id, name, low, high in catalog.ModifierGroup.objects.filter(menu=menu)
        .order_by("id")
        .values_list("pk", "link_id", "name", "min_selections", "max_selections")
    }
    modifiers: dict[int, dict[str, Any]] = {
        pk: {"id": link_id, "name": name, "price": price, "available": available, "modifier_group_ids": ()}
        for pk, link_id, name, price, available in catalog.Modifier.objects.filter(menu=menu).values_list(
            "pk", "link_id", "name", "price", "available"
        )
    }
    for item_id, group_id in (
        catalog.ItemGroup.objects.filter(item__menu=menu)
        .order_by("item_id", "position")
        .values_list("item_id", "group_id")
    ):
        items[item_id]["modifier_group_ids"].append(groups[group_id]["id"])
    for modifier_id, group_id in (
        catalog.ModifierNestedGroup.objects.filter(modifier__menu=menu)
        .order_by("modifier_id", "position")
        .values_list("modifier_id", "group_id")
    ):
        modifier = modifiers[modifier_id]
        modifier["modifier_group_ids"] = (*modifier["modifier_group_ids"], groups[group_id]["id"])
    for group_id, modifier_id in (
        catalog.GroupModifier.objects.filter(group__menu=menu)
        .order_by("group_id", "position")
        .values_list("group_id", "modifier_id")
    ):
        groups[group_id]["modifiers"].append(modifiers[modifier_id])
    categories: dict[int, dict[str, Any]] = {
        pk: {"id": link_id, "name": name, "sort_order": sort_order, "items": []}
        for pk, link_id, name, sort_order in catalog.MenuCategory.objects.filter(menu=menu)
        .order_by("sort_order", "id")
        .values_list("pk", "link_id", "name", "sort_order")
    }
    for category_id, item_id in (
        catalog.CategoryItem.objects.filter(category__menu=menu)
        .order_by("category_id", "position")
        .values_list("category_id", "item_id")
    ):
        categories[category_id]["items"].append(items[item_id])
    return {
        "menu_id": menu.menu_id,
        "version": menu.version,
        "currency": menu.currency,
        "published_at": menu.published_at,
        "hours": menu.hours,
        "categories": list(categories.values()),
        "modifier_groups": list(groups.values()),
    }


_locks_lock = threading.Lock()
_building: dict[str, threading.Lock] = {}


def menu_body(menu: catalog.Menu, store: Store, etag: str, overlay: Callable[[dict], dict] | None = None) -> bytes:
    """The store's published catalog as the JSON bytes the API answers, cached by its ETag (which changes
    with any change to the catalog, so a cached body is never stale).

    Built once per version and kept in the default cache (Redis with REDIS_URL: shared by every worker),
    so reads of a big menu (16 MB, 16-24 at once) cost a cache read each instead of a web thread building
    and serialising it for seconds, which starved /healthz/ (issue 23 H10). A process builds one body per
    version at a time: a burst of reads of a new version waits for the first build instead of repeating it.
    ``overlay`` changes the catalog before it is rendered (the MP's own snoozes); its state must be part of
    ``etag``.
    """
    key = f"menu-body:{etag}"
    body = cache.get(key)
    if body is not None:
        return body
    with _locks_lock:
        lock = _building.setdefault(key, threading.Lock())
    with lock:
        body = cache.get(key)
        if body is None:
            content = menu_catalog(menu)
            content = overlay(content) if overlay is not None else content
            catalog_data = {"store_id": store.external_store_id, "venue_id": store.venue_id, **content}
            body = JSONRenderer().render(catalog_data)
            if settings.MENU_BODY_CACHE_SECONDS:
                cache.set(key, body, settings.MENU_BODY_CACHE_SECONDS)
    with _locks_lock:
        _building.pop(key, None)
    return body

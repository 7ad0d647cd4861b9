"""Menu versions kept per store (issue 27): reading a version's content, and what changed between two.

A version's content is ``{section: {id: [field values]}}`` for the four sections (field names in
``FIELDS``), zlib-compressed JSON (written by ``services/menus/versions.py`` in the ingest transaction).
"""

import gc
import json
import zlib
from contextlib import contextmanager

from integration.models import MenuVersion, Store

# The fields of each section, in the order the content stores them.
FIELDS = {
    "items": ("name", "description", "price", "available", "image_url", "tax_rate", "modifier_group_ids"),
    "modifiers": ("name", "price", "available", "modifier_group_ids"),
    "modifier_groups": ("name", "min_selections", "max_selections", "modifier_ids"),
    "categories": ("name", "sort_order", "item_ids"),
}
SECTIONS = tuple(FIELDS)
PRICED = ("items", "modifiers")


@contextmanager
def gc_paused():
    """Building or reading a version makes some 100,000 small objects: the cyclic collector would walk every
    live object several times meanwhile (tens of ms in a busy process) and finds nothing to free."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def content_unpack(blob) -> dict:
    return json.loads(zlib.decompress(bytes(blob)))


def content_diff(old: dict, new: dict) -> dict:
    """Per section ``{"added": [ids], "removed": [ids], "changed": [{"id", "changes": {field: [old, new]}}]}``;
    ids in the order the menus list them (added and changed: the new one's; removed: the old one's)."""
    diff = {}
    for section, fields in FIELDS.items():
        before, after = old.get(section, {}), new.get(section, {})
        added, changed = [], []
        for key, values in after.items():
            was = before.get(key)
            if was is None:
                added.append(key)
            elif was != values:
                changes = {field: [a, b] for field, a, b in zip(fields, was, values, strict=True) if a != b}
                changed.append({"id": key, "changes": changes})
        removed = [key for key in before if key not in after]
        diff[section] = {"added": added, "removed": removed, "changed": changed}
    return diff


def diff_summary(old: dict, new: dict, diff: dict | None = None) -> dict:
    """Counts per section, and how many prices of the entries in both versions changed (``prices``)."""
    diff = diff if diff is not None else content_diff(old, new)
    summary: dict[str, dict[str, float]] = {
        section: {kind: len(ids) for kind, ids in diff[section].items()} for section in SECTIONS
    }
    compared = sum(len(old.get(s, {}).keys() & new.get(s, {}).keys()) for s in PRICED)
    repriced = sum(1 for s in PRICED for change in diff[s]["changed"] if "price" in change["changes"])
    percent = round(100 * repriced / compared, 2) if compared else 0.0
    summary["prices"] = {"changed": repriced, "compared": compared, "percent": percent}
    return summary


def menu_versions_for_store(store: Store):
    """The kept versions, newest first, without their content."""
    return MenuVersion.objects.filter(store=store).defer("content").order_by("-version")


def menu_version_get(store: Store, version: int) -> MenuVersion | None:
    return MenuVersion.objects.filter(store=store, version=version).first()


def menu_versions_diff(store: Store, from_version: int, to_version: int) -> dict | None:
    """``{"from", "to", "items": {...}, "modifiers": ..., "modifier_groups": ..., "categories": ...}``;
    None when either version is not kept."""
    rows = {v.version: v for v in MenuVersion.objects.filter(store=store, version__in={from_version, to_version})}
    if from_version not in rows or to_version not in rows:
        return None
    with gc_paused():
        old = content_unpack(rows[from_version].content)
        new = old if from_version == to_version else content_unpack(rows[to_version].content)
        return {"from": from_version, "to": to_version, **content_diff(old, new)}

"""Menu versions: each version's normalized content kept compactly beside the live rows, and what
changed between two of them (issue 27).

A version's content is ``{section: {id: [field values]}}`` for the four sections (the field names in
``FIELDS``), JSON compressed with zlib, one ``MenuVersion`` row per version, written in the ingest
transaction; the store's last ``MENU_VERSIONS_KEPT`` are kept. A diff lists per section the ids added
and removed, and for each id in both the fields that differ, old then new.
"""

import json
import zlib

from django.conf import settings

from integration.models import MenuVersion, Store
from integration.selectors.menu_versions import PRICED, SECTIONS, content_unpack, diff_summary, gc_paused

COMPRESSION_LEVEL = 1  # the fastest: ingest time counts more than a few KiB


def _rate(value) -> str:
    return f"{value.normalize():f}"


def content_from_parsed(parsed) -> dict:
    """The normalized content of a parsed menu (``integration.link.menus.ParsedMenu``)."""
    return {
        "items": {
            i.link_id: [
                i.name,
                i.description,
                i.price,
                i.available,
                i.image_url or None,
                _rate(i.tax_rate),
                list(i.group_ids),
            ]
            for i in parsed.items
        },
        "modifiers": {m.link_id: [m.name, m.price, m.available, list(m.group_ids)] for m in parsed.modifiers},
        "modifier_groups": {
            g.link_id: [g.name, g.min_selections, g.max_selections, list(g.modifier_ids)] for g in parsed.groups
        },
        "categories": {c.link_id: [c.name, c.sort_order, list(c.item_ids)] for c in parsed.categories},
    }


def content_pack(content: dict) -> bytes:
    return zlib.compress(json.dumps(content, separators=(",", ":")).encode(), COMPRESSION_LEVEL)


def event_changes(summary: dict | None) -> dict | None:
    """What ``menu.updated`` carries: the counts of the four sections."""
    if summary is None:
        return None
    return {section: summary[section] for section in SECTIONS}


def _previous(store: Store, version: int) -> MenuVersion | None:
    """The version recorded last before this one (by recording order: a new menu_id may restart numbers)."""
    return MenuVersion.objects.filter(store=store).exclude(version=version).order_by("-id").first()


def menu_version_record(store: Store, parsed) -> dict | None:
    """Keep ``parsed``'s content as the store's version ``parsed.version``, compared with the version
    kept before it; prune beyond ``MENU_VERSIONS_KEPT``. Returns the summary (None: nothing to compare)."""
    previous = _previous(store, parsed.version)
    with gc_paused():
        content = content_from_parsed(parsed)
        summary = diff_summary(content_unpack(previous.content), content) if previous is not None else None
        packed = content_pack(content)
        del content
    MenuVersion.objects.filter(store=store, version=parsed.version).delete()
    MenuVersion.objects.create(
        store=store,
        menu_id=parsed.menu_id,
        version=parsed.version,
        currency=parsed.currency,
        content=packed,
        previous_version=previous.version if previous is not None else None,
        summary=summary,
    )
    menu_versions_prune(store)
    return summary


def menu_version_copy(store: Store, menu_id: str, from_version: int | None, to_version: int) -> dict | None:
    """A new version number with the same content (Link republished it unchanged): a row of its own, so
    diffs can name it, and an empty summary. Nothing when ``from_version`` was not kept."""
    if from_version is None or from_version == to_version:
        return None
    source = MenuVersion.objects.filter(store=store, version=from_version).first()
    if source is None:
        return None
    empty: dict[str, dict[str, float]] = {section: {"added": 0, "removed": 0, "changed": 0} for section in SECTIONS}
    compared = sum(len(ids) for ids in (content_unpack(source.content).get(s, {}) for s in PRICED))
    empty["prices"] = {"changed": 0, "compared": compared, "percent": 0.0}
    MenuVersion.objects.filter(store=store, version=to_version).delete()
    MenuVersion.objects.create(
        store=store,
        menu_id=menu_id,
        version=to_version,
        currency=source.currency,
        content=source.content,
        previous_version=from_version,
        summary=empty,
    )
    menu_versions_prune(store)
    return empty


def menu_versions_prune(store: Store, keep: int | None = None) -> int:
    """Delete the store's versions older than the last ``keep`` recorded (default ``MENU_VERSIONS_KEPT``)."""
    keep = keep or settings.MENU_VERSIONS_KEPT
    kth = list(MenuVersion.objects.filter(store=store).order_by("-id").values_list("id", flat=True)[keep - 1 : keep])
    if not kth:
        return 0
    deleted, _ = MenuVersion.objects.filter(store=store, id__lt=kth[0]).delete()
    return deleted

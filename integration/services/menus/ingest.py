"""Ingesting a menu document on the locked Menu row: stale versions dropped, unchanged documents
touch one row, anything else replaces the rows in one transaction; a refused document leaves the
live menu in place and says why on the Menu."""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from integration.link.menus import (
    MAX_PROBLEMS_SHOWN,
    MenuHeader,
    MenuInvalid,
    ParsedMenu,
    menu_hash,
    menu_header,
    parse_menu,
)
from integration.models import Menu, Store
from integration.services.mp_events.events import menu_updated_announce, store_accepting_announce
from integration.text import storable

from . import rows
from .versions import event_changes, menu_version_copy, menu_version_record

logger = logging.getLogger(__name__)

INGESTED, UNCHANGED, STALE, INVALID = "ingested", "unchanged", "stale", "invalid"
NOT_ON_LINK = "not published on Link"
ERROR_MAX = 4000


@dataclass
class IngestResult:
    outcome: str  # INGESTED, UNCHANGED, STALE, INVALID (or NOT_ON_LINK from menu_refresh)
    message: str
    menu: Menu | None = None
    version: int | None = None


def record_error(store: Store, reason: str) -> None:
    """Keep the live menu; tell ops why the new one did not make it (one UPDATE, no lock)."""
    logger.warning("menu of %s: %s", store.venue_id, reason)
    now = timezone.now()
    reason = storable(reason)[:ERROR_MAX]  # a reason may quote the document (a NUL, a lone surrogate)
    Menu.objects.filter(store=store).update(last_error=reason, last_error_at=now, updated_at=now)


def locked_menu(store: Store, menu_id: str) -> Menu:
    menu, _ = Menu.objects.select_for_update().get_or_create(store=store, defaults={"menu_id": menu_id})
    return menu


def menu_ingest(store: Store, document, *, force: bool = False, dry_run: bool = False) -> IngestResult:
    """Make ``document`` (a Menu as Link sends it) the store's live menu, unless it is stale.

    Four steps: check the header (``_check_header``), decide (``_decide``: stale, unchanged, or
    replace), replace the rows (``rows.menu_replace``), stamp the Menu (``_stamp``). A refusal at any
    step goes through ``_refuse``: the live menu stays, the reason is recorded on it. One field is
    dropped, not refused: an ``image_url`` that is not http(s) (``javascript:``...) is stored empty,
    the item kept, and the result's message names it (``ParsedMenu.dropped``).

    ``force`` re-ingests an unchanged document; ``dry_run`` decides and validates, writes nothing.
    """
    try:
        header, digest = _check_header(store, document)
    except MenuInvalid as exc:
        return _refuse(store, exc, dry_run=dry_run)
    peek = Menu.objects.filter(store=store).first()
    decision = _decide(peek, header, digest, force)
    parsed = None
    if decision is None:
        try:
            parsed = parse_menu(document)
        except MenuInvalid as exc:
            return _refuse(store, exc, dry_run=dry_run, version=header.version)
    if dry_run:
        return _result(decision or INGESTED, peek, header.version, dry_run=True, parsed=parsed)

    with transaction.atomic():
        menu = locked_menu(store, header.menu_id)
        state_was, version_was = menu.state, menu.version
        decision = _decide(menu, header, digest, force)  # again, on the locked row
        if decision == STALE:
            return _result(STALE, menu, header.version)
        if decision == UNCHANGED:
            summary = menu_version_copy(store, menu.menu_id, menu.version, header.version)  # the kept versions
            changed = _keep_rows(menu, header)
        else:
            if parsed is None:  # the live menu changed between the peek and the lock
                try:
                    parsed = parse_menu(document)
                except MenuInvalid as exc:
                    return _refuse(store, exc, dry_run=False, version=header.version)
            rows.menu_replace(menu, parsed, digest)
            summary = menu_version_record(store, parsed)
            changed = True
        _stamp(menu, changed=changed)
        _announce(menu, summary, published=menu.state != state_was, new_version=menu.version != version_was)
    if parsed is not None and parsed.dropped and decision is None:
        logger.warning("menu of %s v%s: %s", store.venue_id, header.version, "; ".join(parsed.dropped))
    return _result(decision or INGESTED, menu, header.version, parsed=parsed)


def _check_header(store: Store, document) -> tuple[MenuHeader, str]:
    """The header (this store's venue) and the content hash; raises MenuInvalid."""
    try:
        header = menu_header(document)
        if header.venue_id and header.venue_id != store.venue_id:
            raise MenuInvalid([f"venue_id {header.venue_id!r} is not this store's venue ({store.venue_id})"])
        return header, menu_hash(document)
    except RecursionError:
        raise MenuInvalid(["the document nests too deep to read"]) from None


def _decide(menu: Menu | None, header: MenuHeader, digest: str, force: bool) -> str | None:
    """STALE or UNCHANGED when no row work is needed, else None (replace)."""
    if menu is None or menu.version is None or menu.menu_id != header.menu_id:
        return None
    if header.version < menu.version:
        return STALE
    if not force and menu.content_hash == digest:
        return UNCHANGED
    return None


def _keep_rows(menu: Menu, header: MenuHeader) -> bool:
    """An unchanged document: the rows stay; only the version and publication time move. Returns
    whether MP services see a change (a new version, or a menu published again)."""
    changed = menu.version != header.version or menu.state != Menu.State.PUBLISHED
    menu.version = header.version
    menu.published_at = header.published_at or menu.published_at
    return changed


def _stamp(menu: Menu, *, changed: bool) -> None:
    """The Menu row after a replace or an unchanged fetch: published, fetched now, no error, saved."""
    if menu.state != Menu.State.PUBLISHED:
        menu.publish()
    assert menu.version is not None  # set by the replace or _keep_rows
    if menu.announced_version is None or menu.announced_version < menu.version:
        menu.announced_version = menu.version
    menu.fetched_at = timezone.now()
    menu.last_error, menu.last_error_at = "", None
    menu.revision += 1 if changed else 0
    menu.save()


def _announce(menu: Menu, summary: dict | None, *, published: bool, new_version: bool) -> None:
    """``menu.updated`` for a new version or a menu published again (with what changed against the last kept
    version); the store's acceptance when published."""
    if published or new_version:
        changes = event_changes(summary)
        menu_updated_announce(menu, "published", **({"changes": changes} if changes else {}))
    if published:
        store_accepting_announce(menu.store)


def _refuse(store: Store, exc: MenuInvalid, *, dry_run: bool, version=None) -> IngestResult:
    message = exc.message if version is None else f"v{version}: {exc.message}"
    if not dry_run:
        record_error(store, message)
    return IngestResult(INVALID, message, Menu.objects.filter(store=store).first(), version)


def _result(
    outcome: str, menu: Menu | None, version: int, *, dry_run: bool = False, parsed: ParsedMenu | None = None
) -> IngestResult:
    live = f"v{menu.version}" if menu is not None and menu.version is not None else "none"
    would = "would be " if dry_run else ""
    message = {
        INGESTED: f"v{version} {would}ingested (live before: {live})" if dry_run else f"v{version} ingested",
        UNCHANGED: f"v{version} unchanged (same content as the live {live})",
        STALE: f"v{version} is older than the live {live}; {would or ''}ignored",
    }[outcome]
    if outcome == INGESTED and menu is not None and not dry_run:
        message += (
            f": {menu.category_count} categories, {menu.item_count} items, "
            f"{menu.group_count} modifier groups, {menu.modifier_count} modifiers"
        )
    if outcome == INGESTED and parsed is not None and parsed.dropped:
        shown = parsed.dropped[:MAX_PROBLEMS_SHOWN]
        more = len(parsed.dropped) - len(shown)
        message += f"; {'; '.join(shown)}" + (f"; and {more} more" if more else "")
    return IngestResult(outcome, message, menu, version)

"""Ingesting a menu document on the locked Menu row: stale versions dropped, unchanged documents
touch one row, anything else replaces the rows in one transaction; a refused document leaves the
live menu in place and says why on the Menu. A new version going live, or the menu coming back, is announced
to MP services in the same transaction (``menu.updated``, and ``store.accepting_changed`` when its state changed)."""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from integration.link.menus import MenuInvalid, menu_hash, menu_header, parse_menu
from integration.models import Menu, Store
from integration.services.mp_events.events import menu_updated_announce, store_accepting_announce

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
    Menu.objects.filter(store=store).update(last_error=reason[:ERROR_MAX], last_error_at=now, updated_at=now)


def locked_menu(store: Store, menu_id: str) -> Menu:
    menu, _ = Menu.objects.select_for_update().get_or_create(store=store, defaults={"menu_id": menu_id})
    return menu


def _decide(menu: Menu | None, menu_id: str, version: int, digest: str, force: bool) -> str | None:
    """STALE or UNCHANGED when no row work is needed, else None."""
    if menu is None or menu.version is None:
        return None
    if menu.menu_id == menu_id and version < menu.version:
        return STALE
    if not force and menu.menu_id == menu_id and menu.content_hash == digest:
        return UNCHANGED
    return None


def _refuse(store: Store, exc: MenuInvalid, *, dry_run: bool, version=None) -> IngestResult:
    message = exc.message if version is None else f"v{version}: {exc.message}"
    if not dry_run:
        record_error(store, message)
    return IngestResult(INVALID, message, Menu.objects.filter(store=store).first(), version)


def menu_ingest(store: Store, document, *, force: bool = False, dry_run: bool = False) -> IngestResult:
    """Make ``document`` (a Menu as Link sends it) the store's live menu, unless it is stale.

    ``force`` re-ingests an unchanged document; ``dry_run`` decides and validates, writes nothing.
    """
    try:
        header = menu_header(document)
        if header.venue_id and header.venue_id != store.venue_id:
            raise MenuInvalid([f"venue_id {header.venue_id!r} is not this store's venue ({store.venue_id})"])
        digest = menu_hash(document)
    except MenuInvalid as exc:
        return _refuse(store, exc, dry_run=dry_run)
    except RecursionError:
        return _refuse(store, MenuInvalid(["the document nests too deep to read"]), dry_run=dry_run)
    peek = Menu.objects.filter(store=store).first()
    decision = _decide(peek, header.menu_id, header.version, digest, force)
    parsed = None
    if decision is None:
        try:
            parsed = parse_menu(document)
        except MenuInvalid as exc:
            return _refuse(store, exc, dry_run=dry_run, version=header.version)
    if dry_run:
        return _result(decision or INGESTED, peek, header.version, dry_run=True)

    with transaction.atomic():
        menu = locked_menu(store, header.menu_id)
        state_was, version_was = menu.state, menu.version
        decision = _decide(menu, header.menu_id, header.version, digest, force)
        if decision == STALE:
            return _result(STALE, menu, header.version)
        now = timezone.now()
        if decision == UNCHANGED:
            bump = menu.version != header.version or menu.state != Menu.State.PUBLISHED
            summary = menu_version_copy(store, menu.menu_id, menu.version, header.version)
            menu.version = header.version
            menu.published_at = header.published_at or menu.published_at
        else:
            if parsed is None:  # the live menu changed between the peek and the lock
                try:
                    parsed = parse_menu(document)
                except MenuInvalid as exc:
                    return _refuse(store, exc, dry_run=False, version=header.version)
            counts = rows.replace_rows(menu, parsed)
            summary = menu_version_record(store, parsed)
            bump = True
            menu.menu_id = parsed.menu_id
            menu.version = parsed.version
            menu.currency = parsed.currency
            menu.hours = parsed.hours
            menu.published_at = parsed.published_at
            menu.content_hash = digest
            menu.category_count, menu.item_count, menu.group_count, menu.modifier_count = counts
        if menu.state != Menu.State.PUBLISHED:
            menu.publish()
        if menu.announced_version is None or menu.announced_version < menu.version:
            menu.announced_version = menu.version
        menu.fetched_at = now
        menu.last_error, menu.last_error_at = "", None
        menu.revision += 1 if bump else 0
        menu.save()
        published = menu.state != state_was
        if published or menu.version != version_was:
            changes = event_changes(summary)
            menu_updated_announce(menu, "published", **({"changes": changes} if changes else {}))
        if published:
            store_accepting_announce(menu.store)
    return _result(decision or INGESTED, menu, header.version)


def _result(outcome: str, menu: Menu | None, version: int, *, dry_run: bool = False) -> IngestResult:
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
    return IngestResult(outcome, message, menu, version)

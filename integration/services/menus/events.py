"""Link's menu events: a publication queues a fetch, an unpublication takes the menu off the
catalog, an availability change flips items and modifiers in bulk. An unpublication and an availability change
are announced to MP services here (a publication, once its menu is ingested: see ``ingest``)."""

import logging

from django.conf import settings
from django.db.models import Case, F, Value, When
from django.utils import timezone

from integration.link import payloads, routes
from integration.models import Menu, MenuItem, Modifier, OutboundCall, Store, WebhookEvent
from integration.services.mp_events.events import menu_updated_announce, store_accepting_announce
from integration.services.outbox.calls import call_create, calls_skip

from .fetching import pending_fetches
from .ingest import locked_menu

logger = logging.getLogger(__name__)


def _venue_menu(event: WebhookEvent, menu_id: str) -> tuple[Menu | None, str | None]:
    """The event's venue's menu, locked, if it is ``menu_id``; else None and why the event changes nothing."""
    menu = Menu.objects.select_for_update().filter(store__venue_id=event.venue_id).first()
    if menu is None:
        return None, "no menu for this venue"
    if menu_id != menu.menu_id:
        return None, f"menu {menu_id} is not the venue's menu ({menu.menu_id})"
    return menu, None


def _sent_before_last_change(menu: Menu, event: WebhookEvent) -> str | None:
    if menu.state_changed_at and event.created_at and event.created_at < menu.state_changed_at:
        return f"stale: Link sent it before the menu event applied at {menu.state_changed_at:%Y-%m-%d %H:%M:%S}"
    return None


class VenueNotConnectedYet(Exception):
    """A publication that overtook its store.connected: fail it so Link delivers it again later."""


def menu_publish_from_link(event: WebhookEvent, data: payloads.MenuPublished) -> str | None:
    """``menu.published``: queue a fetch of ``menu_url`` (allow-listed hosts only)."""
    store = Store.objects.filter(venue_id=event.venue_id).first()
    if store is None:
        raise VenueNotConnectedYet(
            f"menu.published for venue {event.venue_id}, which has not connected yet; Link's retry (or a replay) "
            "applies it once store.connected has arrived."
        )
    menu_id, version, url = data.menu_id, data.version, data.menu_url
    menu = locked_menu(store, menu_id)
    if stale := _sent_before_last_change(menu, event):
        return stale
    same_menu = menu.menu_id == menu_id
    if same_menu and menu.version is not None and version < menu.version:
        return f"stale: v{version} is older than the live v{menu.version}"
    if same_menu and version == menu.version and menu.state == Menu.State.PUBLISHED:
        return f"v{version} is already live"
    pending = pending_fetches(store.pk)
    if (
        same_menu
        and menu.announced_version is not None
        and version <= menu.announced_version
        and pending.filter(path=menu.menu_url).exists()
    ):
        return f"a fetch of v{menu.announced_version} is already queued"
    allowed, why = routes.host_allowed(url, settings.LINK_MENU_HOSTS)
    menu.menu_url = url
    if not allowed:
        reason = f"menu_url refused, nothing fetched: {why} ({url[:200]})"
        menu.last_error, menu.last_error_at = reason, timezone.now()
        menu.save(update_fields=["menu_url", "last_error", "last_error_at", "updated_at"])
        logger.warning("menu of %s: %s", store.venue_id, reason)
        return reason
    menu.announced_version = version
    menu.state_changed_at = event.created_at
    menu.save(update_fields=["menu_url", "announced_version", "state_changed_at", "updated_at"])
    calls_skip(pending.exclude(path=routes.venue_menu_path(store.venue_id)), f"superseded by v{version}")
    call_create(kind=OutboundCall.Kind.FETCH_MENU, method="GET", path=url, store=store)
    return None


def menu_unpublish_from_link(event: WebhookEvent, data: payloads.MenuUnpublished) -> str | None:
    """``menu.unpublished``: off the catalog; orders cannot use it. Pending fetches are dropped."""
    menu, refusal = _venue_menu(event, data.menu_id)
    if menu is None:
        return refusal
    if stale := _sent_before_last_change(menu, event):
        return stale
    calls_skip(pending_fetches(menu.store_id), "menu unpublished")
    if menu.state == Menu.State.UNPUBLISHED:
        return "already unpublished"
    menu.unpublish()
    menu.state_changed_at = event.created_at
    menu.revision += 1
    menu.save(update_fields=["state", "state_changed_at", "revision", "updated_at"])
    menu_updated_announce(menu, "unpublished")
    store_accepting_announce(menu.store)
    return None


def _flip(model, menu: Menu, entries: list[payloads.AvailabilityEntry]) -> int:
    """One UPDATE for the whole list: each listed id gets its own ``available``."""
    if not entries:
        return 0
    wanted = {e.id: e.available for e in entries}
    on = [link_id for link_id, available in wanted.items() if available]
    return model.objects.filter(menu=menu, link_id__in=list(wanted)).update(
        available=Case(When(link_id__in=on, then=Value(True)), default=Value(False))
    )


def menu_availability_from_link(event: WebhookEvent, data: payloads.MenuAvailability) -> str | None:
    """``menu.availability_changed``: flip ``available`` in bulk; no new version."""
    menu, refusal = _venue_menu(event, data.menu_id)
    if menu is None:
        return refusal
    if menu.published_at and event.created_at and event.created_at < menu.published_at:
        return f"stale: older than the live v{menu.version}, published at {menu.published_at:%Y-%m-%d %H:%M:%S}"
    changed = _flip(MenuItem, menu, data.items) + _flip(Modifier, menu, data.modifiers)
    if not changed:
        return f"none of the listed ids are on menu {menu} (ingested: {menu.version is not None})"
    Menu.objects.filter(pk=menu.pk).update(revision=F("revision") + 1, updated_at=timezone.now())
    menu_updated_announce(
        menu,
        "availability",
        items=[e.model_dump(mode="json") for e in data.items],
        modifiers=[e.model_dump(mode="json") for e in data.modifiers],
    )
    return None

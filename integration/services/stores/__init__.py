"""Store lifecycle: Link's store events, MP-side pause/resume, alignment with Link's status, ops' edits.

Each service that can change whether a store takes orders (its state, its mapping, its pause) calls
``store_accepting_announce`` after saving, in its transaction: MP services hear ``store.accepting_changed``
when the answer differs from the last one they heard."""

import logging
import uuid
import zoneinfo
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from integration.link import payloads, routes
from integration.link.client import get_client
from integration.models import OutboundCall, Store, WebhookEvent
from integration.selectors.hours import hours_closing_at
from integration.selectors.stores import store_menu
from integration.services.errors import ActionRefused
from integration.services.mp_events.events import store_accepting_announce
from integration.services.orders.cancellation import orders_handle_store_disconnect
from integration.services.outbox.calls import call_create, calls_in_order
from integration.services.outbox.kinds import OrderingKey

logger = logging.getLogger(__name__)

# A store's pause and resume calls reach Link in the order they were made: a resume never overtakes a
# pause that is still being retried (Link would end paused).
STORE_AVAILABILITY = OrderingKey("store-availability", "store_id")


def _event_note(event: WebhookEvent) -> str:
    return f"Link event {event.type} {event.event_id}"


def _clear_pause(store: Store) -> None:
    store.pause_reason = ""
    store.pause_source = ""
    store.paused_by = None
    store.paused_at = None
    store.paused_until = None


def _set_pause(store: Store, *, source: str, reason: str, until=None, by=None) -> None:
    store.pause_reason = reason
    store.pause_source = source
    store.paused_by = by
    store.paused_at = timezone.now()
    store.paused_until = until


def _locked_store(venue_id: str) -> Store | None:
    try:
        return Store.objects.select_for_update().get(venue_id=venue_id)
    except Store.DoesNotExist:
        return None


def store_connect_from_link(event: WebhookEvent, data: payloads.StoreConnected) -> str | None:
    """``store.connected``: create the store, or reconnect it and refresh its details."""
    store = _locked_store(event.venue_id)
    if store is None:
        store = Store(venue_id=event.venue_id)
    store.name = data.name
    store.timezone = data.timezone
    store.address = data.address_fields()
    mapping = data.external_store_id
    if mapping and not store.external_store_id:
        taken = Store.objects.filter(external_store_id=mapping).exclude(venue_id=event.venue_id).exists()
        if taken:
            logger.warning("venue %s claims storefront %s, already mapped elsewhere", event.venue_id, mapping)
        else:
            store.external_store_id = mapping
    if store.pk is not None and store.state != Store.State.ACTIVE:
        store.connect(description=_event_note(event))
    _clear_pause(store)
    store.disconnect_reason = ""
    store.disconnect_in_flight = ""
    store.connected_at = timezone.now()
    store.save()
    store_accepting_announce(store)
    return None


def store_disconnect_from_link(event: WebhookEvent, data: payloads.StoreDisconnected) -> str | None:
    """``store.disconnected``: stop new orders; in-flight orders are handled as Link says."""
    store = _locked_store(event.venue_id)
    if store is None:
        return "unknown venue"
    if store.state != Store.State.DISCONNECTED:
        store.disconnect(description=_event_note(event))
    store.disconnect_reason = data.reason
    store.disconnect_in_flight = data.in_flight
    store.disconnected_at = timezone.now()
    store.save()
    store_accepting_announce(store)
    orders_handle_store_disconnect(store, in_flight=store.disconnect_in_flight, cause=_event_note(event))
    return None


def store_pause_from_link(event: WebhookEvent, data: payloads.StorePaused) -> str | None:
    store = _locked_store(event.venue_id)
    if store is None:
        return "unknown venue"
    if store.state == Store.State.DISCONNECTED:
        return "store is disconnected"
    store.pause(description=_event_note(event))
    _set_pause(store, source=Store.PauseSource.LINK, reason=data.reason, until=data.paused_until)
    store.save()
    store_accepting_announce(store)
    return None


def store_resume_from_link(event: WebhookEvent, data: payloads.Empty) -> str | None:
    store = _locked_store(event.venue_id)
    if store is None:
        return "unknown venue"
    if store.state != Store.State.PAUSED:
        return f"store is {store.state}, not paused"
    store.resume(description=_event_note(event))
    _clear_pause(store)
    store.save()
    store_accepting_announce(store)
    return None


def store_availability_retry_refusal(call: OutboundCall) -> str | None:
    """A failed pause or resume overtaken by a later one would undo it if sent now."""
    later = calls_in_order(STORE_AVAILABILITY, call.store_id).filter(pk__gt=call.pk).first() if call.store_id else None
    if later is None:
        return None
    return (
        f"the store was paused or resumed again since (call #{later.pk}); sending this one now would "
        "undo that. Pause or resume the store itself instead."
    )


class StoreActionRefused(ActionRefused):
    """The store's state does not allow the action; the message says what would."""


def store_pause(store: Store, *, user=None, reason: str, paused_until=None) -> Store:
    """MP-side pause: stop orders now and tell Link through the outbox."""
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        if store.state == Store.State.DISCONNECTED:
            raise StoreActionRefused(
                f"{store} is disconnected from Link; it can only come back by Link reconnecting it."
            )
        store.pause(by=user, description=f"Paused by {user or 'the marketplace'}: {reason}")
        _set_pause(store, source=Store.PauseSource.MP, reason=reason, until=paused_until, by=user)
        store.save()
        store_accepting_announce(store)
        call_create(
            kind=OutboundCall.Kind.PAUSE_STORE,
            method="POST",
            path=routes.pause_venue_path(store.venue_id),
            payload=routes.pause_venue_body(reason, paused_until.isoformat() if paused_until else None),
            idempotency_key=f"pause_{uuid.uuid4().hex}",
            store=store,
        )
    return store


def store_resume(store: Store, *, user=None) -> Store:
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        if store.state != Store.State.PAUSED:
            raise StoreActionRefused(
                f"{store} is {store.get_state_display().lower()}, not paused; only a paused store can be resumed."
            )
        store.resume(by=user, description=f"Resumed by {user or 'the marketplace'}")
        _clear_pause(store)
        store.save()
        store_accepting_announce(store)
        call_create(
            kind=OutboundCall.Kind.RESUME_STORE,
            method="POST",
            path=routes.resume_venue_path(store.venue_id),
            payload={},
            idempotency_key=f"resume_{uuid.uuid4().hex}",
            store=store,
        )
    return store


def store_resume_expired_pauses() -> int:
    """Pauses with a ``paused_until`` in the past end by themselves (MP pauses tell Link too)."""
    resumed = 0
    for store in Store.objects.filter(state=Store.State.PAUSED, paused_until__lt=timezone.now()):
        if store.pause_source == Store.PauseSource.MP:
            store_resume(store)
        else:
            with transaction.atomic():
                locked = Store.objects.select_for_update().get(pk=store.pk)
                locked.resume(description="Pause window ended")
                _clear_pause(locked)
                locked.save()
                store_accepting_announce(locked)
        resumed += 1
    return resumed


# What ops edit on a store's page; the rest comes from Link or from the services above.
EDITABLE = ("name", "external_store_id", "timezone", "address")


def store_edit(store: Store, changes: dict, *, user=None) -> Store:
    """Ops' edits of a store (its name, time zone, address, and its mapping to an MP storefront:
    ``external_store_id``, empty to unmap). A mapping change can start or stop orders, so it is announced."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable on a store: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        for name, value in changes.items():
            setattr(store, name, value)
        if "external_store_id" in changes:
            store.external_store_id = store.external_store_id or None  # empty means unmapped (unique otherwise)
        store.save()
        store_accepting_announce(store)
    logger.info("store %s edited by %s: %s", store.venue_id, user or "the system", ", ".join(changes) or "nothing")
    return store


def store_map(store: Store, external_store_id: str | None, *, user=None) -> Store:
    """Map the store to an MP storefront (None or empty: unmap it)."""
    return store_edit(store, {"external_store_id": external_store_id}, user=user)


@dataclass
class SyncResult:
    store: Store
    link_status: str = ""
    changes: list[str] = field(default_factory=list)
    skipped: str = ""


def store_sync(store: Store, *, dry_run: bool = False) -> SyncResult:
    """Read ``GET /v2/venues/{id}`` and align the local state with Link's (reads need no outbox)."""
    answer = get_client().request("GET", routes.venue_path(store.venue_id)).data or {}
    assert isinstance(answer, dict), "GET /v2/venues/{id} answers an object"
    venue = routes.parse_venue(answer)
    result = SyncResult(store=store, link_status=venue["status"] or "")
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        result.store = store
        in_flight = calls_in_order(STORE_AVAILABILITY, store.pk).filter(status=OutboundCall.Status.PENDING).exists()
        if in_flight:
            result.skipped = "a pause/resume is still on its way to Link"
        elif venue["status"] == Store.State.PAUSED and store.state == Store.State.ACTIVE:
            result.changes.append("ACTIVE -> PAUSED")
            if not dry_run:
                store.pause(description="Aligned with Link's status")
                _set_pause(
                    store,
                    source=Store.PauseSource.LINK,
                    reason="Paused on Link (found by status sync)",
                    until=venue["paused_until"],
                )
        elif venue["status"] == Store.State.ACTIVE and store.state != Store.State.ACTIVE:
            result.changes.append(f"{store.state} -> ACTIVE")
            if not dry_run:
                store.connect(description="Aligned with Link's status")
                _clear_pause(store)
        elif venue["status"] == Store.State.DISCONNECTED and store.state != Store.State.DISCONNECTED:
            result.changes.append(f"{store.state} -> DISCONNECTED")
            if not dry_run:
                store.disconnect(description="Aligned with Link's status")
                store.disconnected_at = timezone.now()
        if venue["name"] and venue["name"] != store.name:
            result.changes.append(f"name {store.name!r} -> {venue['name']!r}")
            store.name = venue["name"]
        if not dry_run:
            store.link_status = result.link_status
            store.link_synced_at = timezone.now()
            store.save()
            store_accepting_announce(store)
    return result


def store_pause_end(store: Store, *, minutes: int | None = None, until_closing: bool = False, local=None):
    """When a pause asked for "N minutes", "until closing" or "until <the store's wall-clock time>" ends
    (UTC); None for no end. Until closing refuses a store that is closed now or has no hours."""
    now = timezone.now()
    if minutes:
        return now + timedelta(minutes=minutes)
    if until_closing:
        menu = store_menu(store)
        closes = hours_closing_at(menu.hours, store.timezone, now) if menu is not None and menu.hours else None
        if closes is None:
            raise StoreActionRefused(
                f"{store} has no closing time today (closed now, or open all day): pick a time instead."
            )
        return closes
    if local is not None:
        try:
            zone = zoneinfo.ZoneInfo(store.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = zoneinfo.ZoneInfo("UTC")
        until = local.replace(tzinfo=None).replace(tzinfo=zone)
        if until <= now:
            raise StoreActionRefused(f"{until:%Y-%m-%d %H:%M %Z} has passed at {store}; pick a later time.")
        return until
    return None

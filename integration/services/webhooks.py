"""Inbound Link events: record first, then apply in one transaction through the dispatch table."""

import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from integration.link import payloads
from integration.models import WebhookEvent

from . import menus, orders, stores

logger = logging.getLogger(__name__)

DONE = (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED)
KEPT_HEADERS = ("content-type", "user-agent", "link-signature", "x-request-id")

# A handler applies one event inside the caller's transaction. It returns None when applied, or a
# short reason string when it deliberately changed nothing (stale, unknown order...): IGNORED.
Handler = Callable[[WebhookEvent, dict], str | None]

HANDLERS: dict[str, Handler] = {
    "store.connected": stores.store_connect_from_link,
    "store.disconnected": stores.store_disconnect_from_link,
    "store.paused": stores.store_pause_from_link,
    "store.resumed": stores.store_resume_from_link,
    "menu.published": menus.menu_publish_from_link,
    "menu.unpublished": menus.menu_unpublish_from_link,
    "menu.availability_changed": menus.menu_availability_from_link,
    "order.confirmed": orders.order_event_from_link,
    "order.rejected": orders.order_event_from_link,
    "order.preparing": orders.order_event_from_link,
    "order.ready": orders.order_event_from_link,
    "order.cancelled": orders.order_event_from_link,
}


@dataclass
class Outcome:
    event: WebhookEvent
    duplicate: bool = False

    @property
    def failed(self) -> bool:
        return self.event.status == WebhookEvent.Status.FAILED


def webhook_record(envelope: dict, raw_body: bytes, headers: dict) -> tuple[WebhookEvent, bool]:
    """Store the signed event (or lock the copy already stored); (event, created). Caller holds a transaction."""
    kept = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
    event = WebhookEvent(
        event_id=envelope["id"],
        type=envelope["type"],
        venue_id=envelope.get("venue_id") or "",
        external_order_id=payloads.external_order_id_of(envelope["type"], envelope["data"]),
        created_at=envelope["created_at"],
        received_at=timezone.now(),
        headers=kept,
        body=raw_body.decode("utf-8"),
    )
    if WebhookEvent.objects.insert_if_new(event):
        return event, True
    # The INSERT waited for any copy in flight to commit, so an applied copy is final: no lock (no write).
    stored = WebhookEvent.objects.only("event_id", "type", "status").get(event_id=envelope["id"])
    if stored.status in DONE:
        return stored, False
    return WebhookEvent.objects.select_for_update().get(pk=stored.pk), False


def _apply(event: WebhookEvent, data: dict | None) -> Outcome:
    """Apply a recorded, locked event. A handler error rolls back its savepoint and leaves the event FAILED."""
    if event.status in DONE:
        return Outcome(event, duplicate=True)
    event.attempts += 1
    try:
        with transaction.atomic():
            handler = HANDLERS.get(event.type)
            if handler is None:
                reason = f"unknown event type {event.type!r}"
            else:
                if data is None:
                    data = payloads.parse_data(event.type, json.loads(event.body)["data"])
                reason = handler(event, data)
    except Exception as exc:
        logger.exception("webhook %s (%s) failed", event.event_id, event.type)
        event.status = WebhookEvent.Status.FAILED
        event.error = f"{type(exc).__name__}: {exc}"[:2000]
        event.traceback = traceback.format_exc()[-20000:]
    else:
        event.status = WebhookEvent.Status.IGNORED if reason else WebhookEvent.Status.PROCESSED
        event.status_reason = reason or ""
        event.error = event.traceback = ""
        event.processed_at = timezone.now()
    event.save(update_fields=["status", "status_reason", "error", "traceback", "attempts", "processed_at"])
    return Outcome(event)


def webhook_receive(envelope: dict, raw_body: bytes, headers: dict) -> Outcome:
    """Record, then apply, in one transaction: the 2xx goes out only after both are durable.

    A copy of an event already applied changes nothing; a failed one is applied again (Link's retry).
    """
    with transaction.atomic():
        event, created = webhook_record(envelope, raw_body, headers)
        return _apply(event, envelope["data"] if created else None)


def webhook_apply(event: WebhookEvent) -> Outcome:
    """Apply a stored event now (replay); already applied events change nothing."""
    with transaction.atomic():
        return _apply(WebhookEvent.objects.select_for_update().get(pk=event.pk), None)


def webhook_replay(event: WebhookEvent, *, force: bool = False) -> Outcome:
    """Re-apply a stored event; ``force`` re-applies one already PROCESSED or IGNORED (handlers are idempotent)."""
    if force:
        WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.RECEIVED)
    return webhook_apply(event)

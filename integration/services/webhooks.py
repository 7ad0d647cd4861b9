"""Inbound Link events: record first, then apply in one transaction through the dispatch table."""

import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integration.link import payloads
from integration.models import WebhookEvent

from . import menus, stores

logger = logging.getLogger(__name__)

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
}


@dataclass
class Outcome:
    event: WebhookEvent
    duplicate: bool = False

    @property
    def failed(self) -> bool:
        return self.event.status == WebhookEvent.Status.FAILED


def webhook_record(envelope: dict, raw_body: bytes, headers: dict) -> tuple[WebhookEvent, bool]:
    """Store the signed event durably before anything is applied; (event, created)."""
    kept = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                event_id=envelope["id"],
                type=envelope["type"],
                venue_id=envelope.get("venue_id") or "",
                external_order_id=payloads.external_order_id_of(envelope["type"], envelope["data"]),
                created_at=envelope["created_at"],
                headers=kept,
                body=raw_body.decode("utf-8"),
            )
        return event, True
    except IntegrityError:
        return WebhookEvent.objects.get(event_id=envelope["id"]), False


def webhook_apply(event: WebhookEvent, data: dict | None = None) -> Outcome:
    """Apply a recorded event once. A handler error leaves it FAILED with the traceback."""
    if event.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
        return Outcome(event, duplicate=True)
    try:
        with transaction.atomic():
            locked = WebhookEvent.objects.select_for_update().get(pk=event.pk)
            if locked.status in (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED):
                return Outcome(locked, duplicate=True)
            handler = HANDLERS.get(locked.type)
            if handler is None:
                reason = f"unknown event type {locked.type!r}"
            else:
                if data is None:
                    data = payloads.parse_data(locked.type, json.loads(locked.body)["data"])
                reason = handler(locked, data)
            locked.status = WebhookEvent.Status.IGNORED if reason else WebhookEvent.Status.PROCESSED
            locked.status_reason = reason or ""
            locked.error = locked.traceback = ""
            locked.attempts += 1
            locked.processed_at = timezone.now()
            locked.save(update_fields=["status", "status_reason", "error", "traceback", "attempts", "processed_at"])
            return Outcome(locked)
    except Exception as exc:
        logger.exception("webhook %s (%s) failed", event.event_id, event.type)
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=WebhookEvent.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            traceback=traceback.format_exc()[-20000:],
            attempts=F("attempts") + 1,
        )
        event.refresh_from_db()
        return Outcome(event)


def webhook_receive(envelope: dict, raw_body: bytes, headers: dict) -> Outcome:
    """Record then apply; a copy of an event already applied changes nothing."""
    event, created = webhook_record(envelope, raw_body, headers)
    return webhook_apply(event, envelope["data"] if created else None)


def webhook_replay(event: WebhookEvent, *, force: bool = False) -> Outcome:
    """Re-apply a stored event; ``force`` re-applies one already PROCESSED or IGNORED (handlers are idempotent)."""
    if force and event.status != WebhookEvent.Status.RECEIVED:
        WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.RECEIVED)
        event.refresh_from_db()
    return webhook_apply(event)

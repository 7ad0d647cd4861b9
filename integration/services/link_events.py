"""Inbound Link events: stored and applied in one transaction through the dispatch table."""

import json
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from pydantic import BaseModel

from integration.link import payloads
from integration.logcontext import log_context
from integration.models import WebhookEvent
from integration.services import stores
from integration.services.menus.events import (
    menu_availability_from_link,
    menu_publish_from_link,
    menu_unpublish_from_link,
)
from integration.services.orders.lifecycle import order_event_from_link

logger = logging.getLogger(__name__)

DONE = (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED)
BRIEF = ("event_id", "type", "status", "status_reason")
KEPT_HEADERS = ("content-type", "user-agent", "link-signature", "x-request-id")

# A handler applies one event, given its validated data model (payloads.EVENT_DATA_MODELS), inside the
# caller's transaction. It returns None when applied, or a short reason string when it deliberately
# changed nothing (stale, unknown order...): IGNORED.
Handler = Callable[[WebhookEvent, BaseModel], str | None]
Data = TypeVar("Data", bound=BaseModel)


@dataclass(frozen=True)
class Route(Generic[Data]):
    """A handler with the data model its event type parses to (``payloads.EVENT_DATA_MODELS``): the type checker
    matches the two, so the table can hold handlers of different models as one ``Handler`` each."""

    model: type[Data]
    apply: Callable[[WebhookEvent, Data], str | None]

    def __call__(self, event: WebhookEvent, data: BaseModel) -> str | None:
        assert isinstance(data, self.model), f"{event.type}: {type(data).__name__} is not {self.model.__name__}"
        return self.apply(event, data)


HANDLERS: dict[str, Handler] = {
    "store.connected": Route(payloads.StoreConnected, stores.store_connect_from_link),
    "store.disconnected": Route(payloads.StoreDisconnected, stores.store_disconnect_from_link),
    "store.paused": Route(payloads.StorePaused, stores.store_pause_from_link),
    "store.resumed": Route(payloads.Empty, stores.store_resume_from_link),
    "menu.published": Route(payloads.MenuPublished, menu_publish_from_link),
    "menu.unpublished": Route(payloads.MenuUnpublished, menu_unpublish_from_link),
    "menu.availability_changed": Route(payloads.MenuAvailability, menu_availability_from_link),
    "order.confirmed": Route(payloads.OrderConfirmed, order_event_from_link),
    "order.rejected": Route(payloads.OrderRejected, order_event_from_link),
    "order.preparing": Route(payloads.OrderPreparing, order_event_from_link),
    "order.ready": Route(payloads.OrderReady, order_event_from_link),
    "order.cancelled": Route(payloads.OrderCancelled, order_event_from_link),
}


class IngestOutcome(StrEnum):
    """What receiving or replaying one event came to (``Outcome.code``): ``/metrics`` counts webhooks by it."""

    PROCESSED = "processed"  # applied
    IGNORED = "ignored"  # applied, deliberately changing nothing (stale, unknown order...)
    FAILED = "failed"  # its handler raised: stored FAILED, Link retries
    DUPLICATE = "duplicate"  # a copy of an event applied before: nothing done
    RECEIVED = "received"  # stored, not applied (a forced replay's start; never left so by receive or replay)


@dataclass
class Outcome:
    event: WebhookEvent
    duplicate: bool = False

    @property
    def failed(self) -> bool:
        return self.event.status == WebhookEvent.Status.FAILED

    @property
    def code(self) -> IngestOutcome:
        return IngestOutcome.DUPLICATE if self.duplicate else IngestOutcome(self.event.status.lower())


def event_from(envelope: payloads.LinkEvent, raw_body: bytes, headers: dict) -> WebhookEvent:
    return WebhookEvent(
        event_id=envelope.id,
        type=envelope.type,
        venue_id=envelope.venue_id,
        external_order_id=payloads.external_order_id_of(envelope.type, envelope.data),
        created_at=envelope.created_at,
        received_at=timezone.now(),
        headers={k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS},
        body=raw_body.decode("utf-8"),
    )


def _handle(event: WebhookEvent, data: BaseModel | dict | None) -> str | None:
    """Run the event's handler; None when applied, else why it changed nothing."""
    handler = HANDLERS.get(event.type)
    if handler is None:
        return f"unknown event type {event.type!r}"
    if data is None:
        data = payloads.parse_data(event.type, json.loads(event.body)["data"])
    assert isinstance(data, BaseModel)  # a type with a handler has a data model: parsed to it, never left a dict
    return handler(event, data)


def _mark_applied(event: WebhookEvent, reason: str | None) -> None:
    event.status = WebhookEvent.Status.IGNORED if reason else WebhookEvent.Status.PROCESSED
    event.status_reason = reason or ""
    event.error = event.traceback = ""
    event.processed_at = timezone.now()


def _apply_new(event: WebhookEvent, data: BaseModel | dict) -> Outcome:
    """The event was just inserted as PROCESSED in this transaction; an IGNORED outcome costs one UPDATE more."""
    reason = _handle(event, data)
    if reason:
        _mark_applied(event, reason)
        event.save(update_fields=["status", "status_reason"])
    return Outcome(event)


def _apply_stored(event: WebhookEvent) -> Outcome:
    """Apply a stored, locked event; one already applied changes nothing."""
    if event.status in DONE:
        return Outcome(event, duplicate=True)
    reason = _handle(event, None)
    event.attempts += 1
    _mark_applied(event, reason)
    event.save(update_fields=["status", "status_reason", "error", "traceback", "attempts", "processed_at"])
    return Outcome(event)


def _record_failure(event: WebhookEvent, exc: Exception) -> Outcome:
    """Store the event FAILED with its error and traceback, in a transaction of its own (the apply's rolled back)."""
    logger.exception("webhook %s (%s) failed", event.event_id, event.type)
    failure = {
        "status": WebhookEvent.Status.FAILED,
        "status_reason": "",
        "error": f"{type(exc).__name__}: {exc}"[:2000],
        "traceback": traceback.format_exc()[-20000:],
        "processed_at": None,
    }
    kept = ("event_id", "type", "venue_id", "external_order_id", "created_at", "headers", "body")
    with transaction.atomic():
        fresh = WebhookEvent(**{name: getattr(event, name) for name in kept}, attempts=1, **failure)
        if not WebhookEvent.objects.insert_if_new(fresh):
            # Stored before this attempt (a retry or replay), or by a concurrent copy: that copy's success stands.
            WebhookEvent.objects.filter(event_id=event.event_id).exclude(status__in=DONE).update(
                attempts=F("attempts") + 1, **failure
            )
        return Outcome(WebhookEvent.objects.get(event_id=event.event_id))


def webhook_receive(envelope: payloads.LinkEvent, raw_body: bytes, headers: dict) -> Outcome:
    """Store, then apply, in one transaction: the 2xx goes out only after both are durable.

    A new event is inserted already PROCESSED and its handler runs in the same transaction, with no
    savepoint: if the handler raises, both roll back and the event is stored FAILED on its own. A copy
    of an applied event changes nothing; a FAILED one is applied again (Link's retry).
    """
    event = event_from(envelope, raw_body, headers)
    with log_context(**_log_ids(event)):
        return _receive(event, envelope.data)


def _log_ids(event: WebhookEvent) -> dict:
    return {"event_id": event.event_id, "venue_id": event.venue_id, "external_order_id": event.external_order_id}


def _receive(event: WebhookEvent, data: BaseModel | dict) -> Outcome:
    _mark_applied(event, None)
    event.attempts = 1
    try:
        with transaction.atomic():
            if WebhookEvent.objects.insert_if_new(event):
                return _apply_new(event, data)
            # The INSERT waited for any copy in flight to commit, so an applied copy is final: no lock, no write.
            stored = WebhookEvent.objects.only(*BRIEF).get(event_id=event.event_id)
            if stored.status in DONE:
                return Outcome(stored, duplicate=True)
            return _apply_stored(WebhookEvent.objects.select_for_update().get(pk=stored.pk))
    except Exception as exc:
        return _record_failure(event, exc)


def webhook_apply(event: WebhookEvent) -> Outcome:
    """Apply a stored event now (replay); already applied events change nothing."""
    try:
        with log_context(**_log_ids(event)), transaction.atomic():
            return _apply_stored(WebhookEvent.objects.select_for_update().get(pk=event.pk))
    except Exception as exc:
        return _record_failure(event, exc)


def webhook_replay(event: WebhookEvent, *, force: bool = False) -> Outcome:
    """Re-apply a stored event; ``force`` re-applies one already PROCESSED or IGNORED (handlers are idempotent)."""
    if force:
        WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.RECEIVED)
    return webhook_apply(event)

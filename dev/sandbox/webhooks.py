"""Signed webhooks out, delivered like Link does: at least once, retried with backoff, same event id.

A few worker threads share one queue of deliveries, each with a due time. Deliveries for one
venue go out one at a time and in order (a venue is a "lane"), so without faults the MP sees a
venue's events in the order they happened. A retry waits for its due time while later events of
the venue go ahead: under failures events arrive out of order, as they may from Link.
"""

import itertools
import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass

import requests

from integration.link.signatures import SIGNATURE_HEADER, sign

from .faults import Faults
from .util import HISTORY_LIMIT, rfc3339

logger = logging.getLogger(__name__)


@dataclass
class Delivery:
    record: dict  # the event's entry in WebhookDispatcher.events
    body: bytes
    lane: str
    copy: str = "original"  # or "duplicate"
    attempt: int = 0
    due: float = 0.0
    seq: int = 0
    held_until: float | None = None
    generation: int = 0  # deliveries from before a reset are dropped when they come back


class WebhookDispatcher:
    def __init__(
        self,
        target: str | None,
        secrets: list[str],
        faults: Faults,
        *,
        max_attempts: int = 20,
        timeout: float = 5.0,
        backoff: float = 0.2,
        backoff_max: float = 5.0,
        workers: int = 4,
    ):
        self.target = target
        self.secrets = list(secrets)
        self.faults = faults
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.backoff = backoff
        self.backoff_max = backoff_max
        self._workers = workers
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._queue: list[Delivery] = []
        self._held: dict[str, list[Delivery]] = {}
        self._busy: set[str] = set()  # lanes with a delivery in flight
        self._stopping = False
        self._generation = 0
        self._threads: list[threading.Thread] = []
        self.events: deque[dict] = deque(maxlen=HISTORY_LIMIT)  # one entry per emitted event, in order
        self.attempts: deque[dict] = deque(maxlen=HISTORY_LIMIT)  # one entry per delivery attempt

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._loop, name=f"sandbox-webhooks-{n}", daemon=True) for n in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=1)

    def clear(self) -> None:
        with self._cond:
            self._generation += 1
            self._queue.clear()
            self._held.clear()
            self.events.clear()
            self.attempts.clear()

    def report(self, type_: str | None = None, venue_id: str | None = None) -> dict:
        """Every emitted event and every delivery attempt, optionally of one type or venue."""

        def wanted(row: dict) -> bool:
            return (not type_ or row["type"] == type_) and (not venue_id or row["venue_id"] == venue_id)

        with self._cond:
            return {
                "events": [dict(record) for record in self.events if wanted(record["event"])],
                "attempts": [dict(attempt) for attempt in self.attempts if wanted(attempt)],
            }

    def pending(self) -> int:
        """Deliveries queued, held back or in flight."""
        with self._cond:
            return len(self._queue) + sum(len(held) for held in self._held.values()) + len(self._busy)

    # -- emitting ----------------------------------------------------------------------------------
    def emit(self, type_: str, venue_id: str, data: dict, event_id: str | None = None) -> dict:
        """Queue one event; answers the envelope. Faults decide on duplicates, holds and delay."""
        envelope = {
            "id": event_id or f"evt_{uuid.uuid4().hex}",
            "type": type_,
            "created_at": rfc3339(),
            "venue_id": venue_id,
            "data": data,
        }
        body = _dumps(envelope)
        subject = data.get("order_id") or data.get("menu_id") or ""
        fault = self.faults.for_webhook(f"{type_}:{venue_id}:{subject}")
        record = {
            "event": envelope,
            "status": "pending" if self.target else "not_sent",
            "duplicated": fault.duplicate,
            "held": fault.reorder,
        }
        lane = venue_id or ""
        with self._cond:
            self.events.append(record)
            if not self.target:
                return envelope
            now = time.monotonic()
            copies = [Delivery(record, body, lane, generation=self._generation)]
            if fault.duplicate:
                copies.append(Delivery(record, body, lane, copy="duplicate", generation=self._generation))
            if fault.reorder:
                for delivery in copies:
                    delivery.held_until = now + fault.max_hold
                self._held.setdefault(lane, []).extend(copies)
            else:
                due = now + fault.delay
                for delivery in copies:
                    self._push(delivery, due)
                # Whatever was held for this lane now goes out right after this event.
                for delivery in self._held.pop(lane, []):
                    self._push(delivery, due)
            self._cond.notify_all()
        return envelope

    def _push(self, delivery: Delivery, due: float) -> None:
        delivery.due, delivery.seq, delivery.held_until = due, next(self._seq), None
        self._queue.append(delivery)

    # -- delivering --------------------------------------------------------------------------------
    def _next(self) -> Delivery | None:
        """Under the lock: the delivery to send now, or None after waiting for one to be due."""
        now = time.monotonic()
        wake = []
        for lane in list(self._held):
            still = []
            for delivery in self._held[lane]:
                if delivery.held_until <= now:
                    self._push(delivery, now)
                else:
                    still.append(delivery)
                    wake.append(delivery.held_until)
            if still:
                self._held[lane] = still
            else:
                del self._held[lane]
        ready = [d for d in self._queue if d.lane not in self._busy]
        if ready:
            best = min(ready, key=lambda d: (d.due, d.seq))
            if best.due <= now:
                self._queue.remove(best)
                self._busy.add(best.lane)
                return best
            wake.append(best.due)
        self._cond.wait(min(wake) - now if wake else None)
        return None

    def _loop(self) -> None:
        session = requests.Session()
        while True:
            with self._cond:
                delivery = None
                while delivery is None:
                    if self._stopping:
                        return
                    delivery = self._next()
            ok = self._attempt(session, delivery)
            with self._cond:
                self._busy.discard(delivery.lane)
                record = delivery.record
                if delivery.generation != self._generation:
                    pass  # reset while in flight: forget it
                elif ok:
                    record["status"] = "delivered"
                elif delivery.attempt < self.max_attempts:
                    pause = min(self.backoff_max, self.backoff * 2 ** (delivery.attempt - 1))
                    self._push(delivery, time.monotonic() + pause + self.faults.webhook_delay())
                elif record["status"] != "delivered":
                    record["status"] = "failed"
                self._cond.notify_all()

    def _attempt(self, session: requests.Session, delivery: Delivery) -> bool:
        delivery.attempt += 1
        event = delivery.record["event"]
        started = time.time()
        status, error = None, None
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(delivery.body, self.secrets)}
        try:
            response = session.post(
                self.target, data=delivery.body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
            status = response.status_code
            response.close()
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        with self._cond:
            if delivery.generation != self._generation:
                return ok
            self.attempts.append(
                {
                    "event_id": event["id"],
                    "type": event["type"],
                    "venue_id": event["venue_id"],
                    "copy": delivery.copy,
                    "attempt": delivery.attempt,
                    "status": status,
                    "error": error,
                    "ok": ok,
                    "at": rfc3339(started),
                    "ts": started,
                    "duration_ms": round((time.time() - started) * 1000, 1),
                }
            )
        if not ok:
            logger.info("webhook %s %s attempt %s: %s", event["type"], event["id"], delivery.attempt, status or error)
        return ok


def _dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()

"""Venues: connection, pause and resume, by the restaurant (control API) or the MP (``/v2/venues``)."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..util import ApiError, json_object, parse_rfc3339, rfc3339, text_field

DEFAULT_ADDRESS = {
    "line1": "1 Sandbox Way",
    "city": "Springfield",
    "region": "IL",
    "postal_code": "62701",
    "country": "US",
}


@dataclass
class Venue:
    venue_id: str
    name: str
    timezone: str
    address: dict
    external_store_id: str | None
    status: str = "ACTIVE"  # ACTIVE | PAUSED | DISCONNECTED
    pause: dict | None = None  # {by, reason, paused_until, until_ts, at}
    menu_id: str = ""
    last_version: int = 0  # versions only grow, even across unpublish
    published_version: int | None = None
    pause_calls: int = 0  # MP-side POST /v2/venues/{id}/pause that were processed
    resume_calls: int = 0
    history: list = field(default_factory=list)  # [{at, what, by, ...}]
    connected_at: str = ""

    def public(self) -> dict:
        """``GET /v2/venues/{id}``."""
        menu = {"menu_id": self.menu_id, "version": self.published_version} if self.published_version else None
        return {
            "venue_id": self.venue_id,
            "name": self.name,
            "status": self.status,
            "paused_until": self.pause["paused_until"] if self.pause else None,
            "accepting_orders": self.status == "ACTIVE",
            "menu": menu,
        }

    def inspect(self) -> dict:
        return {
            **self.public(),
            "timezone": self.timezone,
            "address": self.address,
            "external_store_id": self.external_store_id,
            "paused_by": self.pause["by"] if self.pause else None,
            "pause_reason": self.pause["reason"] if self.pause else None,
            "menu_version": self.published_version,
            "last_menu_version": self.last_version,
            "mp_pause_calls": self.pause_calls,
            "mp_resume_calls": self.resume_calls,
            "connected_at": self.connected_at,
            "history": list(self.history),
        }


def _paused_until(body: dict) -> tuple[str | None, float | None]:
    value = body.get("paused_until")
    if value is None:
        return None, None
    try:
        return value, parse_rfc3339(value)
    except (TypeError, ValueError, AttributeError):
        raise ApiError(
            422, "invalid_request", "paused_until must be an RFC 3339 time or null.", {"paused_until": value}
        ) from None


class VenueStore:
    def __init__(self, lock: threading.RLock, emit: Callable[..., dict]):
        self.lock = lock
        self.emit = emit
        self.venues: dict[str, Venue] = {}

    def now(self, venue_id: str, required: bool = True) -> Venue | None:
        """The venue, with a pause whose ``paused_until`` has passed lifted (no webhook for that).
        Caller holds the lock."""
        venue = self.venues.get(venue_id)
        if venue is None:
            if required:
                raise ApiError(404, "venue_not_found", f"No venue {venue_id}.")
            return None
        if venue.status == "PAUSED" and venue.pause["until_ts"] and venue.pause["until_ts"] <= time.time():
            venue.status, venue.pause = "ACTIVE", None
            venue.history.append({"at": rfc3339(), "what": "pause expired"})
        return venue

    # -- MP -> Link --------------------------------------------------------------------------------------
    def get(self, venue_id: str) -> tuple[int, dict]:
        with self.lock:
            return 200, self.now(venue_id).public()

    def mp_pause(self, venue_id: str, body) -> tuple[int, dict]:
        body = json_object(body)
        with self.lock:
            venue = self.now(venue_id)
            venue.pause_calls += 1
            self._pause(venue, "marketplace", body)
            return 200, {"status": "PAUSED", "paused_until": venue.pause["paused_until"]}

    def mp_resume(self, venue_id: str) -> tuple[int, dict]:
        with self.lock:
            venue = self.now(venue_id)
            venue.resume_calls += 1
            self._resume(venue, "marketplace")
            return 200, {"status": "ACTIVE"}

    # -- the control API ---------------------------------------------------------------------------------
    def connect(self, body) -> tuple[int, dict]:
        body = json_object(body)
        venue_id = text_field(body, "venue_id")
        if not venue_id:
            raise ApiError(422, "invalid_request", "venue_id is required.", {"venue_id": "is required"})
        address = body.get("address") or DEFAULT_ADDRESS
        if not isinstance(address, dict):
            raise ApiError(422, "invalid_request", "address must be an object.", {"address": address})
        with self.lock:
            venue = self.venues.get(venue_id)
            fields = {
                "name": text_field(body, "name") or f"Sandbox venue {venue_id}",
                "timezone": text_field(body, "timezone") or "America/New_York",
                "address": {key: address.get(key, "") for key in DEFAULT_ADDRESS},
                "external_store_id": text_field(body, "external_store_id"),
            }
            if venue is None:
                venue = Venue(venue_id=venue_id, menu_id=f"men_{venue_id.removeprefix('ven_')}", **fields)
                self.venues[venue_id] = venue
            else:
                for key, value in fields.items():
                    setattr(venue, key, value)
            venue.status, venue.pause, venue.connected_at = "ACTIVE", None, rfc3339()
            venue.history.append({"at": venue.connected_at, "what": "connected"})
            self.emit("store.connected", venue_id, dict(fields))
            return 200, venue.inspect()

    def disconnect(self, venue_id: str, body) -> tuple[int, dict]:
        """In-flight orders are left as they are: ``in_flight`` is only news for the MP."""
        body = json_object(body)
        in_flight = body.get("in_flight", "complete")
        if in_flight not in ("complete", "cancel"):
            raise ApiError(422, "invalid_request", "in_flight must be complete or cancel.", {"in_flight": in_flight})
        reason = text_field(body, "reason") or "The restaurant left Link."
        with self.lock:
            venue = self.now(venue_id)
            venue.status, venue.pause = "DISCONNECTED", None
            venue.history.append({"at": rfc3339(), "what": "disconnected", "in_flight": in_flight})
            self.emit("store.disconnected", venue_id, {"reason": reason, "in_flight": in_flight})
            return 200, venue.inspect()

    def restaurant_pause(self, venue_id: str, body) -> tuple[int, dict]:
        body = json_object(body)
        with self.lock:
            venue = self.now(venue_id)
            self._pause(venue, "restaurant", {"reason": "Paused by the restaurant.", **body})
            data = {"reason": venue.pause["reason"], "paused_until": venue.pause["paused_until"]}
            self.emit("store.paused", venue_id, data)
            return 200, venue.inspect()

    def restaurant_resume(self, venue_id: str) -> tuple[int, dict]:
        with self.lock:
            venue = self.now(venue_id)
            self._resume(venue, "restaurant")
            self.emit("store.resumed", venue_id, {})
            return 200, venue.inspect()

    def inspect(self, venue_id: str) -> tuple[int, dict]:
        """One venue as the inspection endpoint shows it (``GET /_sandbox/venues/<id>``; 404 if unknown)."""
        with self.lock:
            return 200, self.now(venue_id).inspect()

    def list(self) -> list[dict]:
        with self.lock:
            return [self.now(venue_id).inspect() for venue_id in self.venues]

    def clear(self) -> None:
        with self.lock:
            self.venues.clear()

    # -- helpers (caller holds the lock) -------------------------------------------------------------------
    def _pause(self, venue: Venue, by: str, body: dict) -> None:
        if venue.status == "DISCONNECTED":
            raise ApiError(409, "venue_disconnected", f"Venue {venue.venue_id} is disconnected.")
        paused_until, until_ts = _paused_until(body)
        reason = text_field(body, "reason") or ""
        venue.status = "PAUSED"
        venue.pause = {"by": by, "reason": reason, "paused_until": paused_until, "until_ts": until_ts, "at": rfc3339()}
        venue.history.append({"at": rfc3339(), "what": "paused", "by": by, "reason": reason, "until": paused_until})

    def _resume(self, venue: Venue, by: str) -> None:
        if venue.status == "DISCONNECTED":
            raise ApiError(409, "venue_disconnected", f"Venue {venue.venue_id} is disconnected.")
        venue.status, venue.pause = "ACTIVE", None
        venue.history.append({"at": rfc3339(), "what": "resumed", "by": by})

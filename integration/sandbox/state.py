"""Everything Link knows, in memory behind one lock, and what Link does with it.

The methods answer ``(status, body)`` or raise ApiError; server.py only turns HTTP into calls.
"""

import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .menus import generate_menu, menu_counts
from .restaurant import REASONS, Plan, Restaurant
from .util import HISTORY_LIMIT, ApiError, parse_rfc3339, rfc3339
from .validation import validate_order

ORDER_FINAL = ("READY", "REJECTED", "CANCELLED")
ADVANCE_TARGETS = ("SENT", "IN_PREP", "READY", "REJECTED", "CANCELLED")
MENU_VERSIONS_KEPT = 5  # older menu_urls answer 404 once this many newer versions exist
SCOPE = "orders menus venues"
DEFAULT_ADDRESS = {
    "line1": "1 Sandbox Way",
    "city": "Springfield",
    "region": "IL",
    "postal_code": "62701",
    "country": "US",
}


class OAuthError(ApiError):
    """The token endpoint speaks OAuth 2.0's error shape, not the API's."""

    def body(self) -> dict:
        return {"error": self.code, "error_description": self.message}


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


@dataclass
class Order:
    order_id: str
    external_order_id: str
    venue_id: str
    body: dict
    plan: Plan
    response: dict  # the 201 body, answered again to every repeat of the key
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    status: str = "INIT"
    prep_time_minutes: int | None = None
    estimated_ready_at: str | None = None
    ready_at: str | None = None
    reason_code: str | None = None
    reason: str | None = None
    cancelled_by: str | None = None
    submissions: int = 1
    cancel_requests: list = field(default_factory=list)
    events: list = field(default_factory=list)  # types of the webhooks emitted for it
    manual: bool = False  # a test moved it by hand: the restaurant leaves it alone

    def public(self) -> dict:
        """``GET /v2/orders/{id}``."""
        return {
            "order_id": self.order_id,
            "external_order_id": self.external_order_id,
            "status": self.status,
            "estimated_ready_at": self.estimated_ready_at,
            "reason_code": self.reason_code,
            "reason": self.reason,
            "updated_at": rfc3339(self.updated_at),
        }

    def inspect(self) -> dict:
        return {
            **self.public(),
            "venue_id": self.venue_id,
            "created_at": rfc3339(self.created_at),
            "submissions": self.submissions,
            "created": 1,  # the key is unique: there is never a second order for it
            "cancel_requests": list(self.cancel_requests),
            "cancelled_by": self.cancelled_by,
            "prep_time_minutes": self.prep_time_minutes,
            "ready_at": self.ready_at,
            "events": list(self.events),
            "manual": self.manual,
            "plan": self.plan.as_dict(),
            "body": self.body,
        }


@dataclass
class MenuEntry:
    menu: dict
    published: bool = True
    _bytes: bytes | None = None

    def body(self) -> bytes:
        """The served JSON, encoded once per change (menus run to megabytes)."""
        if self._bytes is None:
            self._bytes = json.dumps(self.menu, separators=(",", ":")).encode()
        return self._bytes


def _text(body: dict, key: str, default: str | None = None) -> str | None:
    value = body.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ApiError(422, "invalid_request", f"{key} must be a string.", {key: "must be a string"})
    return value


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


def _object(body) -> dict:
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object.")
    return body


class SandboxState:
    def __init__(
        self,
        *,
        seed: int,
        client_id: str,
        client_secret: str,
        token_ttl: float,
        emit: Callable[..., dict],
        base_url: str,
        restaurant: dict | None = None,
    ):
        self.lock = threading.RLock()
        self.seed = seed
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.emit = emit
        self.base_url = base_url
        self.restaurant = Restaurant(self, seed, restaurant)
        self.tokens: dict[str, float] = {}  # token -> monotonic expiry
        self.revoked: set[str] = set()
        self.venues: dict[str, Venue] = {}
        self.orders: dict[str, Order] = {}
        self.by_external: dict[str, str] = {}  # external_order_id (= Idempotency-Key) -> order_id
        self.menus: dict[tuple[str, int], MenuEntry] = {}
        self.calls: deque[dict] = deque(maxlen=HISTORY_LIMIT)
        self._call_seq = itertools.count(1)

    # -- OAuth ---------------------------------------------------------------------------------------
    def issue_token(self, form: dict, basic: tuple[str, str] | None) -> tuple[int, dict]:
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "grant_type must be client_credentials.")
        client_id, secret = basic or (form.get("client_id") or "", form.get("client_secret") or "")
        good = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        good &= hmac.compare_digest(secret.encode(), self.client_secret.encode())
        if not good:
            raise OAuthError(401, "invalid_client", "Unknown client or wrong secret.")
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_ttl
        expires_in = max(1, round(self.token_ttl))
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": SCOPE}

    def check_token(self, authorization: str | None) -> None:
        def refuse(message: str):
            raise ApiError(401, "invalid_token", message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            refuse("A bearer token is required.")
        token = token.strip()
        with self.lock:
            if token in self.revoked:
                refuse("The token was revoked.")
            expiry = self.tokens.get(token)
            if expiry is None:
                refuse("Unknown token.")
            if expiry <= time.monotonic():
                refuse("The token expired.")

    def revoke_tokens(self) -> int:
        with self.lock:
            count = len(self.tokens)
            self.revoked.update(self.tokens)
            self.tokens.clear()
            return count

    # -- orders (MP -> Link) ----------------------------------------------------------------------------
    def create_order(self, key: str | None, body) -> tuple[int, dict]:
        if not key:
            raise ApiError(400, "idempotency_key_required", "POST /v2/orders needs an Idempotency-Key header.")
        with self.lock:
            known = self.by_external.get(key)
            if known:
                order = self.orders[known]
                order.submissions += 1
                return 201, dict(order.response)
            problems = validate_order(body)
            if isinstance(body, dict) and "external_order_id" not in problems and body["external_order_id"] != key:
                problems["Idempotency-Key"] = "must equal external_order_id"
            if problems:
                raise ApiError(422, "invalid_order", "The order is not valid.", problems)
            venue = self._venue_now(body["venue_id"], required=False)
            if venue is None or venue.status != "ACTIVE":
                status = venue.status if venue else "UNKNOWN"
                raise ApiError(
                    409,
                    "store_not_accepting",
                    f"Venue {body['venue_id']} does not accept orders ({status}).",
                    {"venue_id": body["venue_id"], "status": status},
                )
            external_id = body["external_order_id"]
            order_id = "ord_" + hashlib.sha256(f"{self.seed}:{external_id}".encode()).hexdigest()[:16]
            response = {"order_id": order_id, "external_order_id": external_id, "status": "INIT"}
            order = Order(
                order_id=order_id,
                external_order_id=external_id,
                venue_id=venue.venue_id,
                body=body,
                plan=self.restaurant.plan(external_id),
                response=response,
            )
            self.orders[order_id] = order
            self.by_external[external_id] = order_id
            self.restaurant.order_created(order)
            return 201, dict(response)

    def get_order(self, order_id: str) -> tuple[int, dict]:
        with self.lock:
            return 200, self._order(order_id).public()

    def cancel_order(self, order_id: str, body) -> tuple[int, dict]:
        """MP cancel. Emits no webhook: the 200 is the answer. An order already CANCELLED answers
        409 like the contract says, with ``details.status`` so a retried cancel can tell."""
        body = _object(body)
        reason_code = _text(body, "reason_code")
        if not reason_code:
            raise ApiError(422, "invalid_request", "reason_code is required.", {"reason_code": "is required"})
        reason = _text(body, "reason", "")
        with self.lock:
            order = self._order(order_id)
            request = {"at": rfc3339(), "reason_code": reason_code, "reason": reason, "status_before": order.status}
            order.cancel_requests.append(request)
            if order.status in ORDER_FINAL:
                request["answer"] = 409
                raise ApiError(
                    409,
                    "cancel_not_allowed",
                    f"The order is {order.status} and can no longer be cancelled.",
                    {"status": order.status, "cancelled_by": order.cancelled_by},
                )
            request["answer"] = 200
            self.restaurant.forget(order_id)
            order.status, order.updated_at = "CANCELLED", time.time()
            order.reason_code, order.reason, order.cancelled_by = reason_code, reason, "marketplace"
            return 200, {"status": "CANCELLED"}

    # -- venues (MP -> Link) ----------------------------------------------------------------------------
    def get_venue(self, venue_id: str) -> tuple[int, dict]:
        with self.lock:
            return 200, self._venue_now(venue_id).public()

    def mp_pause(self, venue_id: str, body) -> tuple[int, dict]:
        body = _object(body)
        with self.lock:
            venue = self._venue_now(venue_id)
            venue.pause_calls += 1
            self._pause(venue, "marketplace", body)
            return 200, {"status": "PAUSED", "paused_until": venue.pause["paused_until"]}

    def mp_resume(self, venue_id: str) -> tuple[int, dict]:
        with self.lock:
            venue = self._venue_now(venue_id)
            venue.resume_calls += 1
            self._resume(venue, "marketplace")
            return 200, {"status": "ACTIVE"}

    def current_menu(self, venue_id: str) -> tuple[int, bytes]:
        with self.lock:
            return 200, self._published_entry(self._venue_now(venue_id)).body()

    def menu_at(self, menu_id: str, version: int) -> tuple[int, bytes]:
        with self.lock:
            entry = self.menus.get((menu_id, version))
            if entry is None or not entry.published:
                raise ApiError(404, "menu_not_found", f"Menu {menu_id} version {version} is not published.")
            return 200, entry.body()

    # -- the control API (restaurants and Link staff) --------------------------------------------------
    def connect_venue(self, body) -> tuple[int, dict]:
        body = _object(body)
        venue_id = _text(body, "venue_id")
        if not venue_id:
            raise ApiError(422, "invalid_request", "venue_id is required.", {"venue_id": "is required"})
        address = body.get("address") or DEFAULT_ADDRESS
        if not isinstance(address, dict):
            raise ApiError(422, "invalid_request", "address must be an object.", {"address": address})
        with self.lock:
            venue = self.venues.get(venue_id)
            fields = {
                "name": _text(body, "name") or f"Sandbox venue {venue_id}",
                "timezone": _text(body, "timezone") or "America/New_York",
                "address": {key: address.get(key, "") for key in DEFAULT_ADDRESS},
                "external_store_id": _text(body, "external_store_id"),
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

    def disconnect_venue(self, venue_id: str, body) -> tuple[int, dict]:
        """In-flight orders are left as they are: ``in_flight`` is only news for the MP."""
        body = _object(body)
        in_flight = body.get("in_flight", "complete")
        if in_flight not in ("complete", "cancel"):
            raise ApiError(422, "invalid_request", "in_flight must be complete or cancel.", {"in_flight": in_flight})
        reason = _text(body, "reason") or "The restaurant left Link."
        with self.lock:
            venue = self._venue_now(venue_id)
            venue.status, venue.pause = "DISCONNECTED", None
            venue.history.append({"at": rfc3339(), "what": "disconnected", "in_flight": in_flight})
            self.emit("store.disconnected", venue_id, {"reason": reason, "in_flight": in_flight})
            return 200, venue.inspect()

    def restaurant_pause(self, venue_id: str, body) -> tuple[int, dict]:
        body = _object(body)
        with self.lock:
            venue = self._venue_now(venue_id)
            self._pause(venue, "restaurant", {"reason": "Paused by the restaurant.", **body})
            data = {"reason": venue.pause["reason"], "paused_until": venue.pause["paused_until"]}
            self.emit("store.paused", venue_id, data)
            return 200, venue.inspect()

    def restaurant_resume(self, venue_id: str) -> tuple[int, dict]:
        with self.lock:
            venue = self._venue_now(venue_id)
            self._resume(venue, "restaurant")
            self.emit("store.resumed", venue_id, {})
            return 200, venue.inspect()

    def publish_menu(self, venue_id: str, body) -> tuple[int, dict]:
        body = _object(body)
        sizes = {}
        for key, default in (("items", 20), ("groups", 5), ("modifiers", 20), ("depth", 1), ("categories", None)):
            value = body.get(key, default)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ApiError(422, "invalid_request", f"{key} must be a non-negative integer.", {key: value})
            sizes[key] = value
        with self.lock:
            venue = self._venue_now(venue_id)
            version = venue.last_version + 1
            try:
                menu = generate_menu(
                    venue_id,
                    venue.menu_id,
                    version,
                    **sizes,
                    currency=body.get("currency", "USD"),
                    seed=body.get("seed", self.seed),
                    hours=body.get("hours"),
                )
            except (KeyError, TypeError, ValueError):
                hint = "a list of {day, open, close} or one {open, close}"
                raise ApiError(422, "invalid_request", f"hours must be {hint}.", {"hours": body.get("hours")}) from None
            self.menus[(venue.menu_id, version)] = MenuEntry(menu)
            self.menus.pop((venue.menu_id, version - MENU_VERSIONS_KEPT), None)
            venue.last_version = venue.published_version = version
            menu_url = f"{self.base_url}/menus/{venue.menu_id}/v{version}"
            self.emit("menu.published", venue_id, {"menu_id": venue.menu_id, "version": version, "menu_url": menu_url})
            return 200, {
                "menu_id": venue.menu_id,
                "version": version,
                "menu_url": menu_url,
                "counts": menu_counts(menu),
            }

    def unpublish_menu(self, venue_id: str) -> tuple[int, dict]:
        with self.lock:
            venue = self._venue_now(venue_id)
            if not venue.last_version:
                raise ApiError(404, "menu_not_found", f"Venue {venue_id} never had a menu.")
            if venue.published_version:
                self.menus[(venue.menu_id, venue.published_version)].published = False
            venue.published_version = None
            self.emit("menu.unpublished", venue_id, {"menu_id": venue.menu_id})
            return 200, {"menu_id": venue.menu_id, "version": None}

    def set_availability(self, venue_id: str, body) -> tuple[int, dict]:
        """86 / snooze entries of the served menu in place: no new version."""
        body = _object(body)
        with self.lock:
            venue = self._venue_now(venue_id)
            entry = self._published_entry(venue)
            changes, problems = {}, {}
            for key, section in (("items", "items"), ("modifiers", "modifiers")):
                known = {row["id"]: row for row in entry.menu[section]}
                changes[key] = []
                for n, change in enumerate(body.get(key) or []):
                    if not isinstance(change, dict) or change.get("id") not in known:
                        problems[f"{key}[{n}].id"] = "is not on the published menu"
                    elif not isinstance(change.get("available"), bool):
                        problems[f"{key}[{n}].available"] = "must be true or false"
                    else:
                        changes[key].append((known[change["id"]], change["available"]))
            if problems:
                raise ApiError(422, "invalid_request", "Unknown menu entries.", problems)
            data = {"menu_id": venue.menu_id, "items": [], "modifiers": []}
            for key, rows in changes.items():
                for row, available in rows:
                    row["available"] = available
                    data[key].append({"id": row["id"], "available": available})
            entry._bytes = None
            self.emit("menu.availability_changed", venue_id, data)
            return 200, {**data, "version": venue.published_version}

    def advance_order(self, ref: str, body) -> tuple[int, dict]:
        """Move an order by hand; from then on the restaurant leaves it alone."""
        body = _object(body)
        target = body.get("to")
        if target not in ADVANCE_TARGETS:
            raise ApiError(422, "invalid_request", f"to must be one of {', '.join(ADVANCE_TARGETS)}.", {"to": target})
        prep_minutes = body.get("prep_time_minutes")
        if prep_minutes is not None and (not isinstance(prep_minutes, int) or prep_minutes < 1):
            raise ApiError(422, "invalid_request", "prep_time_minutes must be a positive integer.")
        with self.lock:
            order = self.orders.get(ref) or self.orders.get(self.by_external.get(ref, ""))
            if order is None:
                raise ApiError(404, "order_not_found", f"No order {ref}.")
            order.manual = True
            self.restaurant.forget(order.order_id)
            self.advance(
                order,
                target,
                reason_code=_text(body, "reason_code"),
                reason=_text(body, "reason"),
                prep_minutes=prep_minutes,
                estimated_ready_at=_text(body, "estimated_ready_at"),
                cancelled_by=_text(body, "cancelled_by") or "restaurant",
                emit=body.get("emit", True),
            )
            return 200, order.inspect()

    def emit_event(self, body) -> tuple[int, dict]:
        body = _object(body)
        type_, venue_id, data = body.get("type"), body.get("venue_id"), body.get("data", {})
        if not isinstance(type_, str) or not type_ or not isinstance(venue_id, str) or not isinstance(data, dict):
            raise ApiError(422, "invalid_request", "type and venue_id (strings) and data (object) are required.")
        return 200, self.emit(type_, venue_id, data, event_id=_text(body, "id"))

    # -- moving orders --------------------------------------------------------------------------------
    def advance(
        self,
        order: Order,
        to: str,
        *,
        reason_code: str | None = None,
        reason: str | None = None,
        prep_minutes: int | None = None,
        estimated_ready_at: str | None = None,
        cancelled_by: str = "restaurant",
        emit: bool = True,
    ) -> None:
        """Set the status and emit the matching webhook. Caller holds the lock."""
        now = time.time()
        order.status, order.updated_at = to, now
        data = {"order_id": order.order_id, "external_order_id": order.external_order_id}
        if to in ("SENT", "IN_PREP"):
            if prep_minutes or order.prep_time_minutes is None:
                order.prep_time_minutes = int(prep_minutes or order.plan.prep_minutes)
                order.estimated_ready_at = rfc3339(now + order.prep_time_minutes * 60)
            order.estimated_ready_at = estimated_ready_at or order.estimated_ready_at
            if to == "SENT":
                type_ = "order.confirmed"
                data.update(prep_time_minutes=order.prep_time_minutes, estimated_ready_at=order.estimated_ready_at)
            else:
                type_ = "order.preparing"
                data.update(estimated_ready_at=order.estimated_ready_at)
        elif to == "READY":
            order.ready_at = rfc3339(now)
            type_ = "order.ready"
            data.update(ready_at=order.ready_at)
        else:
            default_code = order.plan.reject_code if to == "REJECTED" else order.plan.cancel_code
            order.reason_code = reason_code or default_code
            order.reason = reason or REASONS.get(order.reason_code, "")
            data.update(reason_code=order.reason_code, reason=order.reason)
            if to == "REJECTED":
                type_ = "order.rejected"
            else:
                type_ = "order.cancelled"
                order.cancelled_by = cancelled_by
                data.update(cancelled_by=cancelled_by)
        if emit:
            order.events.append(type_)
            self.emit(type_, order.venue_id, data)

    # -- inspection -----------------------------------------------------------------------------------
    def record_call(self, method: str, path: str, query: dict, headers, body) -> dict:
        authorization = headers.get("Authorization")
        call = {
            "method": method,
            "path": path,
            "query": query,
            "headers": {
                "Authorization": f"{authorization.split(' ', 1)[0]} ***" if authorization else None,
                "Idempotency-Key": headers.get("Idempotency-Key"),
            },
            "body": body,
            "status": None,
            "fault": None,
            "at": rfc3339(),
            "ts": time.time(),
        }
        with self.lock:
            call["seq"] = next(self._call_seq)
            self.calls.append(call)
        return call

    def finish_call(self, call: dict, status: int | str, fault: str | None) -> None:
        with self.lock:
            call["status"], call["fault"] = status, fault
            call["duration_ms"] = round((time.time() - call["ts"]) * 1000, 1)

    def list_calls(self, method: str | None = None, path_prefix: str | None = None) -> list[dict]:
        with self.lock:
            return [
                dict(call)
                for call in self.calls
                if (not method or call["method"] == method.upper())
                and (not path_prefix or call["path"].startswith(path_prefix))
            ]

    def list_orders(self, venue_id: str | None = None, status: str | None = None) -> list[dict]:
        with self.lock:
            return [
                order.inspect()
                for order in self.orders.values()
                if (not venue_id or order.venue_id == venue_id) and (not status or order.status == status)
            ]

    def list_venues(self) -> list[dict]:
        with self.lock:
            return [self._venue_now(venue_id).inspect() for venue_id in self.venues]

    def reset(self, tokens: bool = False, restaurant_settings: bool = False) -> None:
        with self.lock:
            self.restaurant.reset(settings=restaurant_settings)
            self.venues.clear()
            self.orders.clear()
            self.by_external.clear()
            self.menus.clear()
            self.calls.clear()
            self._call_seq = itertools.count(1)
            if tokens:
                self.tokens.clear()
                self.revoked.clear()

    # -- helpers (caller holds the lock) ---------------------------------------------------------------
    def _order(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise ApiError(404, "order_not_found", f"No order {order_id}.")
        return order

    def _published_entry(self, venue: Venue):
        """The menu the venue serves now (caller holds the lock); 404 when it serves none."""
        if not venue.published_version:
            raise ApiError(404, "menu_not_found", f"Venue {venue.venue_id} has no published menu.")
        return self.menus[(venue.menu_id, venue.published_version)]

    def _venue_now(self, venue_id: str, required: bool = True) -> Venue | None:
        """The venue, with a pause whose ``paused_until`` has passed lifted (no webhook for that)."""
        venue = self.venues.get(venue_id)
        if venue is None:
            if required:
                raise ApiError(404, "venue_not_found", f"No venue {venue_id}.")
            return None
        if venue.status == "PAUSED" and venue.pause["until_ts"] and venue.pause["until_ts"] <= time.time():
            venue.status, venue.pause = "ACTIVE", None
            venue.history.append({"at": rfc3339(), "what": "pause expired"})
        return venue

    def _pause(self, venue: Venue, by: str, body: dict) -> None:
        if venue.status == "DISCONNECTED":
            raise ApiError(409, "venue_disconnected", f"Venue {venue.venue_id} is disconnected.")
        paused_until, until_ts = _paused_until(body)
        reason = _text(body, "reason") or ""
        venue.status = "PAUSED"
        venue.pause = {"by": by, "reason": reason, "paused_until": paused_until, "until_ts": until_ts, "at": rfc3339()}
        venue.history.append({"at": rfc3339(), "what": "paused", "by": by, "reason": reason, "until": paused_until})

    def _resume(self, venue: Venue, by: str) -> None:
        if venue.status == "DISCONNECTED":
            raise ApiError(409, "venue_disconnected", f"Venue {venue.venue_id} is disconnected.")
        venue.status, venue.pause = "ACTIVE", None
        venue.history.append({"at": rfc3339(), "what": "resumed", "by": by})

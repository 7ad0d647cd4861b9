"""Orders at Link: created under an Idempotency-Key, moved by the restaurant or by hand, cancelled by the MP."""

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..restaurant import REASONS, Plan
from ..util import ApiError, json_object, rfc3339, text_field
from ..validation import validate_order
from .venues import VenueStore

if TYPE_CHECKING:
    from ..restaurant import Restaurant

ORDER_FINAL = ("READY", "REJECTED", "CANCELLED")
ADVANCE_TARGETS = ("SENT", "IN_PREP", "READY", "REJECTED", "CANCELLED")


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


class OrderStore:
    def __init__(
        self,
        lock: threading.RLock,
        venues: VenueStore,
        restaurant: "Restaurant",
        emit: Callable[..., dict],
        *,
        seed: int,
    ):
        self.lock = lock
        self.venues = venues
        self.restaurant = restaurant
        self.emit = emit
        self.seed = seed
        self.by_id: dict[str, Order] = {}
        self.by_external: dict[str, str] = {}  # external_order_id (= Idempotency-Key) -> order_id

    # -- MP -> Link --------------------------------------------------------------------------------------
    def create(self, key: str | None, body) -> tuple[int, dict]:
        if not key:
            raise ApiError(400, "idempotency_key_required", "POST /v2/orders needs an Idempotency-Key header.")
        with self.lock:
            known = self.by_external.get(key)
            if known:
                order = self.by_id[known]
                order.submissions += 1
                return 201, dict(order.response)
            problems = validate_order(body)
            if isinstance(body, dict) and "external_order_id" not in problems and body["external_order_id"] != key:
                problems["Idempotency-Key"] = "must equal external_order_id"
            if problems:
                raise ApiError(422, "invalid_order", "The order is not valid.", problems)
            venue = self.venues.now(body["venue_id"], required=False)
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
            self.by_id[order_id] = order
            self.by_external[external_id] = order_id
            self.restaurant.order_created(order)
            return 201, dict(response)

    def get(self, order_id: str) -> tuple[int, dict]:
        with self.lock:
            return 200, self._order(order_id).public()

    def cancel(self, order_id: str, body) -> tuple[int, dict]:
        """MP cancel. Emits no webhook: the 200 is the answer. An order already CANCELLED answers
        409 like the contract says, with ``details.status`` so a retried cancel can tell."""
        body = json_object(body)
        reason_code = text_field(body, "reason_code")
        if not reason_code:
            raise ApiError(422, "invalid_request", "reason_code is required.", {"reason_code": "is required"})
        reason = text_field(body, "reason", "")
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

    # -- the control API ---------------------------------------------------------------------------------
    def advance_by_hand(self, ref: str, body) -> tuple[int, dict]:
        """Move an order by hand; from then on the restaurant leaves it alone."""
        body = json_object(body)
        target = body.get("to")
        if target not in ADVANCE_TARGETS:
            raise ApiError(422, "invalid_request", f"to must be one of {', '.join(ADVANCE_TARGETS)}.", {"to": target})
        prep_minutes = body.get("prep_time_minutes")
        if prep_minutes is not None and (not isinstance(prep_minutes, int) or prep_minutes < 1):
            raise ApiError(422, "invalid_request", "prep_time_minutes must be a positive integer.")
        with self.lock:
            order = self.by_id.get(ref) or self.by_id.get(self.by_external.get(ref, ""))
            if order is None:
                raise ApiError(404, "order_not_found", f"No order {ref}.")
            order.manual = True
            self.restaurant.forget(order.order_id)
            self.advance(
                order,
                target,
                reason_code=text_field(body, "reason_code"),
                reason=text_field(body, "reason"),
                prep_minutes=prep_minutes,
                estimated_ready_at=text_field(body, "estimated_ready_at"),
                cancelled_by=text_field(body, "cancelled_by") or "restaurant",
                emit=body.get("emit", True),
            )
            return 200, order.inspect()

    def list(self, venue_id: str | None = None, status: str | None = None) -> list[dict]:
        with self.lock:
            return [
                order.inspect()
                for order in self.by_id.values()
                if (not venue_id or order.venue_id == venue_id) and (not status or order.status == status)
            ]

    def clear(self) -> None:
        with self.lock:
            self.by_id.clear()
            self.by_external.clear()

    # -- moving orders (caller holds the lock) -------------------------------------------------------------
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
        """Set the status and emit the matching webhook."""
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

    def _order(self, order_id: str) -> Order:
        order = self.by_id.get(order_id)
        if order is None:
            raise ApiError(404, "order_not_found", f"No order {order_id}.")
        return order

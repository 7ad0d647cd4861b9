"""The restaurants behind the sandbox: they confirm, reject, prepare, cancel and finish orders on timers.

Each order's fate (reject? cancel, and at which step? prep minutes) is drawn once, when the order
arrives, from an RNG derived from the seed and the order's external_order_id; the timings are read
when each step is scheduled. Two sandboxes with one seed therefore treat the same orders alike,
whatever else happens meanwhile.
"""

import threading
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from .faults import coerce_settings
from .scheduler import Scheduler
from .util import rng_for

if TYPE_CHECKING:
    from .state import SandboxState
    from .stores.orders import Order

DEFAULT_RESTAURANT = {
    "auto": True,
    "confirm_after": 1.0,  # seconds from INIT to SENT (or REJECTED)
    "prep_after": 1.0,  # seconds from SENT to IN_PREP
    "ready_after": 2.0,  # seconds from IN_PREP to READY
    "reject_rate": 0.1,
    "cancel_rate": 0.05,
}
REJECT_CODES = ("ITEM_UNAVAILABLE", "STORE_CLOSED", "KITCHEN_BUSY", "INVALID_ORDER", "OTHER")
CANCEL_CODES = ("ITEM_UNAVAILABLE", "KITCHEN_BUSY", "STORE_CLOSED", "OTHER")
REASONS = {
    "ITEM_UNAVAILABLE": "An item in the order is sold out.",
    "STORE_CLOSED": "The store is closed.",
    "KITCHEN_BUSY": "The kitchen is too busy right now.",
    "INVALID_ORDER": "The restaurant could not make sense of the order.",
    "OTHER": "The restaurant could not take the order.",
}
# status -> (the next status, the setting that says how long until it)
NEXT_STEP = {"INIT": ("SENT", "confirm_after"), "SENT": ("IN_PREP", "prep_after"), "IN_PREP": ("READY", "ready_after")}


@dataclass(frozen=True)
class Plan:
    reject: bool
    reject_code: str
    cancel_at: str | None  # the status from which the restaurant cancels instead of moving on
    cancel_code: str
    prep_minutes: int

    def as_dict(self) -> dict:
        return asdict(self)


def make_plan(seed: int, external_order_id: str, reject_rate: float, cancel_rate: float) -> Plan:
    rng = rng_for(seed, "order", external_order_id)
    rejected, cancelled = rng.random(), rng.random()  # the same draws whatever the rates
    cancel_at = rng.choice(tuple(NEXT_STEP))
    return Plan(
        reject=rejected < reject_rate,
        reject_code=rng.choice(REJECT_CODES),
        cancel_at=cancel_at if cancelled < cancel_rate else None,
        cancel_code=rng.choice(CANCEL_CODES),
        prep_minutes=rng.randint(8, 25),
    )


class Restaurant:
    def __init__(self, state: "SandboxState", seed: int, settings: dict | None = None):
        self.state = state
        self.seed = seed
        self.scheduler = Scheduler()
        self._lock = threading.Lock()
        self._settings = dict(DEFAULT_RESTAURANT)
        self._settings.update(coerce_settings(DEFAULT_RESTAURANT, settings or {}, {"reject_rate", "cancel_rate"}))

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.stop()

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self._settings)

    def update(self, changes: dict) -> dict:
        """Partial update. Turning ``auto`` off drops every timer; turning it on picks up every
        order still under the restaurant's control where it stands."""
        clean = coerce_settings(DEFAULT_RESTAURANT, changes, {"reject_rate", "cancel_rate"})
        with self.state.lock:
            with self._lock:
                was_auto = self._settings["auto"]
                self._settings.update(clean)
                now_auto = self._settings["auto"]
            if was_auto and not now_auto:
                self.scheduler.clear()
            elif now_auto and not was_auto:
                for order in self.state.orders.by_id.values():
                    if not order.manual and order.status in NEXT_STEP:
                        self._schedule(order)
        return self.snapshot()

    def reset(self, settings: bool = False) -> None:
        self.scheduler.clear()
        if settings:
            with self._lock:
                self._settings = dict(DEFAULT_RESTAURANT)

    def pending(self) -> int:
        return self.scheduler.pending()

    def plan(self, external_order_id: str) -> Plan:
        s = self.snapshot()
        return make_plan(self.seed, external_order_id, s["reject_rate"], s["cancel_rate"])

    def order_created(self, order: "Order") -> None:
        if self.snapshot()["auto"]:
            self._schedule(order)

    def forget(self, order_id: str) -> None:
        """Stop moving an order on its own (the MP cancelled it, or a test took it over)."""
        self.scheduler.cancel(order_id)

    def _schedule(self, order: "Order") -> None:
        delay = self.snapshot()[NEXT_STEP[order.status][1]]
        self.scheduler.call_later(delay, order.order_id, lambda: self._step(order.order_id))

    def _step(self, order_id: str) -> None:
        with self.state.lock:
            order = self.state.orders.by_id.get(order_id)
            if order is None or order.manual or order.status not in NEXT_STEP:
                return  # gone (reset), taken over by a test, or final (e.g. cancelled by the MP)
            plan = order.plan
            if order.status == "INIT" and plan.reject:
                self.state.orders.advance(order, "REJECTED", reason_code=plan.reject_code)
            elif plan.cancel_at == order.status:
                self.state.orders.advance(order, "CANCELLED", reason_code=plan.cancel_code, cancelled_by="restaurant")
            else:
                self.state.orders.advance(order, NEXT_STEP[order.status][0])
                if order.status in NEXT_STEP:
                    self._schedule(order)

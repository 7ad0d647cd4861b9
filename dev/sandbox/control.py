"""``SandboxControl``: a small client of the sandbox's /_sandbox/ control API, for tests and the demo."""

import time

import requests


class SandboxControl:
    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _call(self, method: str, path: str, body: dict | None = None, params: dict | None = None):
        response = self.session.request(
            method, f"{self.base_url}/_sandbox{path}", json=body, params=params, timeout=self.timeout
        )
        response.raise_for_status()
        return response.json()

    # -- venues and menus ---------------------------------------------------------------------------
    def health(self) -> dict:
        return self._call("GET", "/health")

    def connect_venue(
        self,
        venue_id: str,
        name: str | None = None,
        *,
        timezone: str = "America/New_York",
        address: dict | None = None,
        external_store_id: str | None = None,
    ) -> dict:
        body = {"venue_id": venue_id, "name": name, "timezone": timezone, "external_store_id": external_store_id}
        if address is not None:
            body["address"] = address
        return self._call("POST", "/venues", body)

    def disconnect_venue(self, venue_id: str, reason: str = "The restaurant left Link.", in_flight: str = "complete"):
        return self._call("POST", f"/venues/{venue_id}/disconnect", {"reason": reason, "in_flight": in_flight})

    def pause_venue(self, venue_id: str, reason: str = "Paused by the restaurant.", paused_until: str | None = None):
        """Restaurant-side pause (emits store.paused)."""
        return self._call("POST", f"/venues/{venue_id}/pause", {"reason": reason, "paused_until": paused_until})

    def resume_venue(self, venue_id: str) -> dict:
        return self._call("POST", f"/venues/{venue_id}/resume", {})

    def publish_menu(self, venue_id: str, **options) -> dict:
        """Options: items, groups, modifiers, depth, categories, seed, hours, currency; or ``edits``: the previous
        version with ``{"prices": {id: price}, "remove_items": [ids], "add_items": [{id, name, price, category_id}]}``
        applied (so a test knows exactly what changed)."""
        return self._call("POST", f"/venues/{venue_id}/menu", options)

    def unpublish_menu(self, venue_id: str) -> dict:
        return self._call("POST", f"/venues/{venue_id}/menu/unpublish", {})

    def set_availability(self, venue_id: str, items: list[dict] = (), modifiers: list[dict] = ()) -> dict:
        """``items`` / ``modifiers``: ``[{"id": ..., "available": bool}]``."""
        body = {"items": list(items), "modifiers": list(modifiers)}
        return self._call("POST", f"/venues/{venue_id}/availability", body)

    def venues(self) -> list[dict]:
        return self._call("GET", "/venues")

    def venue(self, venue_id: str) -> dict:
        return next(venue for venue in self.venues() if venue["venue_id"] == venue_id)

    # -- orders and events --------------------------------------------------------------------------
    def orders(self, venue_id: str | None = None, status: str | None = None) -> list[dict]:
        return self._call("GET", "/orders", params={"venue_id": venue_id, "status": status})

    def order(self, ref: str) -> dict | None:
        """One order by Link order_id or external_order_id, or None."""
        return next((o for o in self.orders() if ref in (o["order_id"], o["external_order_id"])), None)

    def advance_order(self, ref: str, to: str, **extra) -> dict:
        """Move by hand to SENT, IN_PREP, READY, REJECTED or CANCELLED. Extra: reason_code, reason,
        prep_time_minutes, estimated_ready_at, cancelled_by, emit."""
        return self._call("POST", f"/orders/{ref}/advance", {"to": to, **extra})

    def emit_event(self, type_: str, venue_id: str, data: dict | None = None, event_id: str | None = None) -> dict:
        body = {"type": type_, "venue_id": venue_id, "data": data or {}}
        if event_id:
            body["id"] = event_id
        return self._call("POST", "/events", body)

    # -- settings -----------------------------------------------------------------------------------
    def faults(self) -> dict:
        return self._call("GET", "/faults")

    def set_faults(self, **changes) -> dict:
        return self._call("POST", "/faults", changes)

    def clear_faults(self) -> dict:
        return self.set_faults(
            error_rate=0,
            timeout_rate=0,
            rate_limit_rate=0,
            latency_ms=0,
            fail_next=0,
            webhook_duplicate_rate=0,
            webhook_reorder_rate=0,
            webhook_delay_ms=0,
        )

    def revoke_tokens(self) -> dict:
        return self.set_faults(revoke_tokens=True)

    def restaurant(self) -> dict:
        return self._call("GET", "/restaurant")

    def set_restaurant(self, **changes) -> dict:
        """auto, confirm_after, prep_after, ready_after, reject_rate, cancel_rate."""
        return self._call("POST", "/restaurant", changes)

    # -- inspection ---------------------------------------------------------------------------------
    def calls(self, method: str | None = None, path_prefix: str | None = None) -> list[dict]:
        return self._call("GET", "/calls", params={"method": method, "path_prefix": path_prefix})

    def webhooks(self, type_: str | None = None, venue_id: str | None = None) -> dict:
        """``{"events": [...], "attempts": [...]}``."""
        return self._call("GET", "/webhooks", params={"type": type_, "venue_id": venue_id})

    def quiet(self) -> dict:
        return self._call("GET", "/quiet")

    def wait_quiet(self, timeout: float = 30.0, interval: float = 0.05) -> dict:
        """Wait until no webhook is pending and no restaurant timer is left; TimeoutError else."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.quiet()
            if state["quiet"]:
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"The sandbox is not quiet after {timeout}s: {state}")
            time.sleep(interval)

    def reset(self, *, faults: bool = False, restaurant: bool = False, tokens: bool = False) -> dict:
        return self._call("POST", "/reset", {"faults": faults, "restaurant": restaurant, "tokens": tokens})

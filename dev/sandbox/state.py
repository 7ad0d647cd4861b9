"""Everything Link knows, in memory: one store per resource, all behind one lock.

The stores' methods answer ``(status, body)`` or raise ApiError; server.py only turns HTTP into calls.
One lock (re-entrant) for all of them, so an operation that spans stores (an order checks its
venue, a menu bumps its venue's version, the restaurant moves an order) sees one consistent state.
"""

import threading
from collections.abc import Callable

from .restaurant import Restaurant
from .stores.auth import TokenStore
from .stores.calls import CallLog
from .stores.menus import MenuStore
from .stores.orders import OrderStore
from .stores.venues import VenueStore
from .util import ApiError, json_object, text_field


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
        self.emit = emit
        self.restaurant = Restaurant(self, seed, restaurant)
        self.tokens = TokenStore(self.lock, client_id=client_id, client_secret=client_secret, token_ttl=token_ttl)
        self.calls = CallLog(self.lock)
        self.venues = VenueStore(self.lock, emit)
        self.menus = MenuStore(self.lock, self.venues, emit, seed=seed, base_url=base_url)
        self.orders = OrderStore(self.lock, self.venues, self.restaurant, emit, seed=seed)

    def emit_event(self, body) -> tuple[int, dict]:
        """Any webhook, as the control API asks for it."""
        body = json_object(body)
        type_, venue_id, data = body.get("type"), body.get("venue_id"), body.get("data", {})
        if not isinstance(type_, str) or not type_ or not isinstance(venue_id, str) or not isinstance(data, dict):
            raise ApiError(422, "invalid_request", "type and venue_id (strings) and data (object) are required.")
        return 200, self.emit(type_, venue_id, data, event_id=text_field(body, "id"))

    def reset(self, tokens: bool = False, restaurant_settings: bool = False) -> None:
        with self.lock:
            self.restaurant.reset(settings=restaurant_settings)
            self.venues.clear()
            self.orders.clear()
            self.menus.clear()
            self.calls.clear()
            if tokens:
                self.tokens.clear()

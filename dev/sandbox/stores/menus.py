"""Published menus by (menu_id, version): what ``menu_url`` serves, publish, unpublish, 86."""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..menus import edit_menu, generate_menu, menu_counts
from ..util import ApiError, json_object
from .venues import Venue, VenueStore

MENU_VERSIONS_KEPT = 5  # older menu_urls answer 404 once this many newer versions exist


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


class MenuStore:
    def __init__(
        self, lock: threading.RLock, venues: VenueStore, emit: Callable[..., dict], *, seed: int, base_url: str
    ):
        self.lock = lock
        self.venues = venues
        self.emit = emit
        self.seed = seed
        self.base_url = base_url
        self.menus: dict[tuple[str, int], MenuEntry] = {}

    # -- MP -> Link --------------------------------------------------------------------------------------
    def current(self, venue_id: str) -> tuple[int, bytes]:
        with self.lock:
            return 200, self._published_entry(self.venues.now(venue_id)).body()

    def at(self, menu_id: str, version: int) -> tuple[int, bytes]:
        with self.lock:
            entry = self.menus.get((menu_id, version))
            if entry is None or not entry.published:
                raise ApiError(404, "menu_not_found", f"Menu {menu_id} version {version} is not published.")
            return 200, entry.body()

    # -- the control API ---------------------------------------------------------------------------------
    def publish(self, venue_id: str, body) -> tuple[int, dict]:
        body = json_object(body)
        sizes = {}
        for key, default in (("items", 20), ("groups", 5), ("modifiers", 20), ("depth", 1), ("categories", None)):
            value = body.get(key, default)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ApiError(422, "invalid_request", f"{key} must be a non-negative integer.", {key: value})
            sizes[key] = value
        with self.lock:
            venue = self.venues.now(venue_id)
            version = venue.last_version + 1
            edits = body.get("edits")
            if edits is not None:  # the previous version, edited: what changes is exactly what was asked
                previous = self.menus.get((venue.menu_id, venue.last_version))
                if previous is None or not isinstance(edits, dict):
                    raise ApiError(422, "invalid_request", "edits need an object and a previous version to edit.")
                try:
                    menu = edit_menu(previous.menu, edits, version)
                except (KeyError, TypeError, ValueError, IndexError):
                    raise ApiError(
                        422, "invalid_request", "edits must name entries of the previous version.", {"edits": edits}
                    ) from None
            else:
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
                    raise ApiError(
                        422, "invalid_request", f"hours must be {hint}.", {"hours": body.get("hours")}
                    ) from None
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

    def unpublish(self, venue_id: str) -> tuple[int, dict]:
        with self.lock:
            venue = self.venues.now(venue_id)
            if not venue.last_version:
                raise ApiError(404, "menu_not_found", f"Venue {venue_id} never had a menu.")
            if venue.published_version:
                self.menus[(venue.menu_id, venue.published_version)].published = False
            venue.published_version = None
            self.emit("menu.unpublished", venue_id, {"menu_id": venue.menu_id})
            return 200, {"menu_id": venue.menu_id, "version": None}

    def set_availability(self, venue_id: str, body) -> tuple[int, dict]:
        """86 / snooze entries of the served menu in place: no new version."""
        body = json_object(body)
        with self.lock:
            venue = self.venues.now(venue_id)
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

    def clear(self) -> None:
        with self.lock:
            self.menus.clear()

    def _published_entry(self, venue: Venue) -> MenuEntry:
        """The menu the venue serves now (caller holds the lock); 404 when it serves none."""
        if not venue.published_version:
            raise ApiError(404, "menu_not_found", f"Venue {venue.venue_id} has no published menu.")
        return self.menus[(venue.menu_id, venue.published_version)]

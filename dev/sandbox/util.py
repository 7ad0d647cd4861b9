"""Small helpers shared by the sandbox modules: clock formatting, seeded RNGs, errors."""

import random
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime

# The logs behind /_sandbox/calls and /_sandbox/webhooks keep this many newest entries, so a
# long `make run` does not grow without bound.
HISTORY_LIMIT = 100_000


def rfc3339(ts: float | None = None) -> str:
    """RFC 3339 in UTC with whole seconds, exactly like the contract's examples."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(value: str) -> float:
    """Unix time of an RFC 3339 string; ValueError unless it carries a timezone."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("timezone missing")
    return parsed.timestamp()


def rng_for(seed: int, *key: object) -> random.Random:
    """A private RNG for one decision, derived from the seed and a stable key.

    A string seed is hashed with SHA-512 by ``random``, so the result does not depend on
    PYTHONHASHSEED or on which thread asks first.
    """
    return random.Random(":".join(str(part) for part in (seed, *key)))


class KeyedCounter:
    """``next(key)`` answers 0, 1, 2, ... per key: the stable part of a per-event RNG key."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: dict[str, int] = defaultdict(int)

    def next(self, key: str) -> int:
        with self._lock:
            n = self._counts[key]
            self._counts[key] = n + 1
            return n

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


class ApiError(Exception):
    """An answer in the contract's error shape ``{"error": {"code", "message", "details"}}``."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def json_object(body) -> dict:
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object.")
    return body


def text_field(body: dict, key: str, default: str | None = None) -> str | None:
    value = body.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ApiError(422, "invalid_request", f"{key} must be a string.", {key: "must be a string"})
    return value

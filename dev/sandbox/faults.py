"""Fault settings and the seeded decisions taken from them, one private RNG per call or event."""

import math
import threading
import time
from dataclasses import dataclass

from .util import ApiError, KeyedCounter, rng_for

DEFAULT_FAULTS = {
    # MP -> Link calls (/v2/*, menu_url; /oauth/token only with faults_on_token)
    "error_rate": 0.0,  # answer 503 without processing
    "rate_limit_rate": 0.0,  # answer 429 + Retry-After without processing
    "retry_after": 1,
    "timeout_rate": 0.0,  # process, then hang timeout_seconds and drop the connection unanswered
    "timeout_seconds": 15.0,
    "latency_ms": 0,  # added to every answer
    "fail_next": 0,  # the next N calls answer fail_status, no dice involved
    "fail_status": 503,
    "faults_on_token": False,
    "outage": False,  # Link is down: every call, /oauth/token too, answers 503 (after latency_ms)
    "rate_limit": 0,  # calls per second (/v2/*, menu_url); above it 429 + Retry-After. 0: no limit
    # Link -> MP webhooks
    "webhook_duplicate_rate": 0.0,  # deliver the event twice
    "webhook_reorder_rate": 0.0,  # hold it until the venue's next event went out, or webhook_max_hold_ms
    "webhook_max_hold_ms": 2000,
    "webhook_delay_ms": 0,  # wait this long before each delivery attempt
}
RATES = {key for key in DEFAULT_FAULTS if key.endswith("_rate")}


@dataclass(frozen=True)
class CallFault:
    """What the faults do to one API call."""

    reject: ApiError | None = None  # answered instead of processing the call
    reject_reason: str | None = None
    hang_seconds: float = 0.0  # > 0: process, then hang and drop the connection
    latency: float = 0.0


@dataclass(frozen=True)
class WebhookFault:
    duplicate: bool = False
    reorder: bool = False
    delay: float = 0.0
    max_hold: float = 0.0


def coerce_settings(defaults: dict, changes: dict, rates: set[str] = frozenset()) -> dict:
    """Validated copy of ``changes``, each value cast to its default's type; ApiError(400) otherwise."""
    if not isinstance(changes, dict):
        raise ApiError(400, "invalid_request", "Settings must be a JSON object.")
    unknown = sorted(set(changes) - set(defaults))
    if unknown:
        raise ApiError(400, "invalid_request", "Unknown settings.", {"unknown": unknown, "known": sorted(defaults)})
    clean = {}
    for key, value in changes.items():
        kind = type(defaults[key])
        try:
            if kind is bool:
                if not isinstance(value, bool):
                    raise ValueError
                clean[key] = value
            else:
                clean[key] = kind(value)
        except (TypeError, ValueError):
            raise ApiError(400, "invalid_request", f"{key} must be a {kind.__name__}.", {key: value}) from None
        if key in rates and not 0.0 <= clean[key] <= 1.0:
            raise ApiError(400, "invalid_request", f"{key} must be between 0 and 1.", {key: value})
        if kind in (int, float) and key not in rates and clean[key] < 0:
            raise ApiError(400, "invalid_request", f"{key} must not be negative.", {key: value})
    return clean


class RateLimit:
    """Link's own budget: a token bucket holding one second of calls, refilled at ``rate`` per second."""

    def __init__(self):
        self._tokens = 0.0
        self._at = 0.0

    def take(self, rate: int, now: float) -> float:
        """0 when the call may go (a token is taken), else the seconds until a token is there."""
        self._tokens = min(float(rate), self._tokens + (now - self._at) * rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / rate


class Faults:
    def __init__(self, seed: int, settings: dict | None = None):
        self.seed = seed
        self._lock = threading.Lock()
        self._settings = dict(DEFAULT_FAULTS)
        self._budget = RateLimit()
        self._calls = KeyedCounter()
        self._events = KeyedCounter()
        self.update(settings or {})

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self._settings)

    def update(self, changes: dict) -> dict:
        clean = coerce_settings(DEFAULT_FAULTS, changes, RATES)
        with self._lock:
            if "rate_limit" in clean:
                self._budget = RateLimit()
            self._settings.update(clean)
            return dict(self._settings)

    def reset(self, settings: bool = False) -> None:
        with self._lock:
            if settings:
                self._settings = dict(DEFAULT_FAULTS)
        self._calls.clear()
        self._events.clear()

    def for_call(self, key: str, *, token: bool = False) -> CallFault:
        """Decide one call's fate. ``key`` is stable (method, path, idempotency key), so the n-th
        call with a given key meets the same dice whatever other threads do meanwhile. The token
        endpoint meets an outage, and the other faults only with ``faults_on_token``."""
        with self._lock:
            s = self._settings
            latency = s["latency_ms"] / 1000
            if s["outage"]:
                error = ApiError(503, "link_unavailable", "Sandbox outage: Link is down.")
                return CallFault(reject=error, reject_reason="outage", latency=latency)
            if token and not s["faults_on_token"]:
                return CallFault()
            if s["rate_limit"] and not token:
                wait = self._budget.take(s["rate_limit"], time.monotonic())
                if wait:
                    error = ApiError(
                        429, "rate_limited", "Over the rate limit.", headers={"Retry-After": str(math.ceil(wait))}
                    )
                    return CallFault(reject=error, reject_reason="rate_limit", latency=latency)
        rng = rng_for(self.seed, "call", key, self._calls.next(key))
        limited, failed, hung = rng.random(), rng.random(), rng.random()  # always three draws
        with self._lock:
            s = self._settings
            latency = s["latency_ms"] / 1000
            if s["fail_next"] > 0:
                s["fail_next"] -= 1
                status = s["fail_status"]
                error = ApiError(status, "sandbox_fail_next", f"Sandbox fault: fail_next answers {status}.")
                return CallFault(reject=error, reject_reason="fail_next", latency=latency)
            if limited < s["rate_limit_rate"]:
                error = ApiError(
                    429, "rate_limited", "Too many requests.", headers={"Retry-After": str(s["retry_after"])}
                )
                return CallFault(reject=error, reject_reason="rate_limit", latency=latency)
            if failed < s["error_rate"]:
                error = ApiError(503, "service_unavailable", "Sandbox fault: service unavailable.")
                return CallFault(reject=error, reject_reason="error_rate", latency=latency)
            hang = s["timeout_seconds"] if hung < s["timeout_rate"] else 0.0
            return CallFault(hang_seconds=hang, latency=latency)

    def webhook_delay(self) -> float:
        with self._lock:
            return self._settings["webhook_delay_ms"] / 1000

    def for_webhook(self, key: str) -> WebhookFault:
        rng = rng_for(self.seed, "webhook", key, self._events.next(key))
        duplicate, reorder = rng.random(), rng.random()
        with self._lock:
            s = self._settings
            return WebhookFault(
                duplicate=duplicate < s["webhook_duplicate_rate"],
                reorder=reorder < s["webhook_reorder_rate"],
                delay=s["webhook_delay_ms"] / 1000,
                max_hold=s["webhook_max_hold_ms"] / 1000,
            )

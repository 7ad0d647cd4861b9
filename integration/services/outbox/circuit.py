"""A circuit and a request budget per Link host, shared by every worker (issue 12).

The state of each host is one small dict kept in a ``LinkCircuit`` row or, with ``REDIS_URL``, in a
Redis key; every change is a read-modify-write under the row lock (or a WATCH/MULTI transaction),
so every worker sees one circuit. The rules are pure functions of (state, now):

- closed: calls go, spaced by the shared budget (``LINK_RATE_LIMIT`` per second, GCRA) and by the
  pause a 429 sets for every call to the host (its Retry-After, else our backoff);
- ``LINK_CIRCUIT_FAILURES`` retriable failures in a row open it: calls are held, not sent, and one
  call at a time goes as the probe, every ``LINK_CIRCUIT_PROBE_INTERVAL`` seconds;
- any answer from Link (a success, a refusal, a 429) closes it; the held calls are then pulled
  forward and go at ``LINK_DRAIN_RATE`` per second, oldest first.

Hand-written rather than pybreaker: its half-open state lets one call through per process, and
neither it nor a rate-limit library keeps a probe lease and a drain in the database.
"""

import copy
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction

from integration.models import LinkCircuit

CLOSED, OPEN = "closed", "open"
SEND, PROBE, HOLD = "send", "probe", "hold"
OK, REFUSED, DOWN, THROTTLED = "ok", "refused", "down", "throttled"
OPENED, CLOSED_NOW = "opened", "closed"


def fresh() -> dict:
    return {
        "state": CLOSED,
        "since": 0.0,
        "failures": 0,
        "closed_at": 0.0,
        "next_probe_at": 0.0,
        "probe_until": 0.0,
        "probes": 0,
        "paused_until": 0.0,
        "tat": 0.0,
        "drain_since": 0.0,
        "drain_until": 0.0,
        "drain_total": 0,
    }


@dataclass(frozen=True)
class Limits:
    failures: int
    probe_interval: float
    probe_lease: float
    rate: float  # requests per second to the host; 0: no budget
    burst: int
    drain_rate: float  # while draining a backlog; 0: no bound

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(
            failures=settings.LINK_CIRCUIT_FAILURES,
            probe_interval=settings.LINK_CIRCUIT_PROBE_INTERVAL,
            probe_lease=settings.LINK_CONNECT_TIMEOUT + settings.LINK_READ_TIMEOUT + 5,
            rate=settings.LINK_RATE_LIMIT,
            burst=settings.LINK_RATE_BURST,
            drain_rate=settings.LINK_DRAIN_RATE,
        )


@dataclass(frozen=True)
class Permit:
    """SEND or PROBE after sleeping ``wait`` seconds (the slot is reserved); HOLD: do not send, come
    back after ``wait`` seconds (None: when the circuit closes)."""

    action: str
    wait: float | None = 0.0


def _rate(state: dict, now: float, limits: Limits) -> float:
    draining = limits.drain_rate if now < state["drain_until"] else 0.0
    rates = [r for r in (limits.rate, draining) if r > 0]
    return min(rates) if rates else 0.0


def decide(state: dict, now: float, limits: Limits, max_wait: float) -> Permit:
    """May a call go now? Reserves its slot (or the probe) in ``state``."""
    if state["state"] == OPEN:
        if state["probe_until"] > now or now < state["next_probe_at"]:
            return Permit(HOLD, None)
        state["probe_until"] = now + limits.probe_lease
        state["probes"] += 1
        return Permit(PROBE)
    start = max(now, state["paused_until"])
    rate = _rate(state, now, limits)
    if rate:
        interval = 1.0 / rate
        start = max(start, state["tat"] - (max(1, limits.burst) - 1) * interval)
    if start - now > max_wait:
        return Permit(HOLD, start - now)
    if rate:
        state["tat"] = max(state["tat"], start) + interval
    return Permit(SEND, start - now)


def record(state: dict, now: float, limits: Limits, result: str, *, probe: bool, pause: float = 0.0) -> str | None:
    """Apply one answer (OK, REFUSED, DOWN or THROTTLED); OPENED or CLOSED_NOW when it changed the circuit."""
    if probe:
        state["probe_until"] = 0.0
    if result == THROTTLED:
        state["paused_until"] = max(state["paused_until"], now + pause)
    if result != DOWN:  # Link answered: it is up
        state["failures"] = 0
        if state["state"] == OPEN:
            state.update(state=CLOSED, since=now, closed_at=now, probes=0)
            return CLOSED_NOW
        return None
    if state["state"] == OPEN:
        if probe:
            state["next_probe_at"] = now + limits.probe_interval
        return None
    state["failures"] += 1
    if state["failures"] < limits.failures:
        return None
    state.update(state=OPEN, since=now, next_probe_at=now + limits.probe_interval, probes=0, drain_until=0.0)
    return OPENED


def start_drain(state: dict, now: float, limits: Limits, waiting: int) -> None:
    if waiting and limits.drain_rate > 0:
        state.update(drain_since=now, drain_total=waiting, drain_until=now + waiting / limits.drain_rate)


# --- where the state lives -------------------------------------------------------------------------


class DatabaseStore:
    """One ``LinkCircuit`` row per host, changed under its row lock."""

    def read(self, host: str) -> dict:
        row = LinkCircuit.objects.filter(host=host).values_list("state", flat=True).first()
        return {**fresh(), **(row or {})}

    def read_all(self) -> dict[str, dict]:
        return {host: {**fresh(), **state} for host, state in LinkCircuit.objects.values_list("host", "state")}

    def change(self, host: str, fn):
        while True:
            try:
                with transaction.atomic():
                    row = LinkCircuit.objects.select_for_update().get(host=host)
                    state = {**fresh(), **row.state}
                    result = fn(state)
                    if state != {**fresh(), **row.state}:
                        row.state = state
                        row.save(update_fields=["state", "updated_at"])
                    return result
            except LinkCircuit.DoesNotExist:
                LinkCircuit.objects.get_or_create(host=host)


class RedisStore:
    """One JSON value per host, changed in a WATCH/MULTI transaction (retried when another worker won).
    Keys start with the site's ``Q_NAME``, as its queue's do: two sites sharing a Redis keep apart."""

    def __init__(self, url: str, site: str):
        import redis

        self.redis = redis.Redis.from_url(url)
        self._watch_error = redis.WatchError
        self.prefix = f"{site}:circuit:"

    def read(self, host: str) -> dict:
        raw = self.redis.get(self.prefix + host)
        return {**fresh(), **(json.loads(raw) if raw else {})}

    def read_all(self) -> dict[str, dict]:
        hosts = sorted(h.decode() for h in self.redis.smembers(self.prefix + "hosts"))
        return {host: self.read(host) for host in hosts}

    def change(self, host: str, fn):
        key = self.prefix + host
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    state = {**fresh(), **(json.loads(raw) if raw else {})}
                    result = fn(state)
                    pipe.multi()
                    pipe.set(key, json.dumps(state))
                    pipe.sadd(self.prefix + "hosts", host)
                    pipe.execute()
                    return result
                except self._watch_error:
                    continue


_stores: dict[tuple[str, str], object] = {}
_stores_lock = threading.Lock()


def circuit_store():
    """Redis when ``REDIS_URL`` is set (every worker uses it already), else the database."""
    url, site = settings.REDIS_URL, settings.Q_CLUSTER["name"]
    with _stores_lock:
        if (url, site) not in _stores:
            _stores[url, site] = RedisStore(url, site) if url else DatabaseStore()
        return _stores[url, site]


def _change(host: str, fn):
    """Apply ``fn`` to the host's state; a change that would leave it as it is takes no lock."""
    store = circuit_store()
    seen = store.read(host)
    trial = copy.deepcopy(seen)
    result = fn(trial)
    if trial == seen:
        return result
    return store.change(host, fn)


# --- the services the outbox calls -----------------------------------------------------------------


def circuit_acquire(host: str, *, max_wait: float) -> Permit:
    limits = Limits.from_settings()
    return _change(host, lambda state: decide(state, time.time(), limits, max_wait))


def circuit_record(host: str, result: str, *, probe: bool, pause: float = 0.0) -> str | None:
    limits = Limits.from_settings()
    return _change(host, lambda state: record(state, time.time(), limits, result, probe=probe, pause=pause))


def circuit_drain_start(host: str, waiting: int) -> None:
    limits = Limits.from_settings()
    _change(host, lambda state: start_drain(state, time.time(), limits, waiting))


@dataclass(frozen=True)
class CircuitStatus:
    host: str
    state: str
    since: datetime | None
    failures: int
    probes: int
    probe_in_flight: bool
    probe_due: bool
    paused_until: datetime | None
    closed_at: datetime | None
    draining: bool
    drain_total: int
    drain_until: datetime | None

    @property
    def is_open(self) -> bool:
        return self.state == OPEN


def _when(ts: float) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts else None


def _status(host: str, state: dict, now: float) -> CircuitStatus:
    return CircuitStatus(
        host=host,
        state=state["state"],
        since=_when(state["since"]),
        failures=state["failures"],
        probes=state["probes"],
        probe_in_flight=state["probe_until"] > now,
        probe_due=state["state"] == OPEN and state["probe_until"] <= now and state["next_probe_at"] <= now,
        paused_until=_when(state["paused_until"]) if state["paused_until"] > now else None,
        closed_at=_when(state["closed_at"]),
        draining=state["drain_until"] > now,
        drain_total=state["drain_total"],
        drain_until=_when(state["drain_until"]) if state["drain_until"] > now else None,
    )


def circuit_status(host: str) -> CircuitStatus:
    return _status(host, circuit_store().read(host), time.time())


def circuits_status() -> list[CircuitStatus]:
    now = time.time()
    return [_status(host, state, now) for host, state in circuit_store().read_all().items()]

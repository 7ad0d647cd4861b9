"""A circuit and a request budget per Link host, shared by every worker (issue 12).

The state of each host is one ``CircuitState``, stored as a small JSON object in a ``LinkCircuit``
row or, with ``REDIS_URL``, in a Redis key; every change is a read-modify-write under the row lock
(or a WATCH/MULTI transaction), so every worker sees one circuit. The rules are pure functions of
(state, now):

- closed: calls go, spaced by the shared budget (``LINK_RATE_LIMIT`` per second, GCRA) and by the
  pause a 429 sets for every call to the host (its Retry-After, else our backoff);
- ``LINK_CIRCUIT_FAILURES`` retriable failures in a row open it: calls are held, not sent, and one
  call at a time goes as the probe, every ``LINK_CIRCUIT_PROBE_INTERVAL`` seconds;
- any answer from Link (a success, a refusal, a 429) closes it; the held calls are then pulled
  forward and go at ``LINK_DRAIN_RATE`` per second, oldest first.

Hand-written rather than pybreaker: its half-open state lets one call through per process, and
neither it nor a rate-limit library keeps a probe lease and a drain in the database.
"""

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.db import transaction

from integration.models import LinkCircuit

T = TypeVar("T")


class CircuitMode(StrEnum):
    """Where a host's circuit stands (the ``state`` key of its stored JSON)."""

    CLOSED = "closed"  # calls go, within the budget
    OPEN = "open"  # calls are held; one probe at a time tests whether the host is back


class Action(StrEnum):
    """What a ``Permit`` lets a claimed call do."""

    SEND = "send"
    PROBE = "probe"  # the circuit is open: this call tests whether the host is back
    HOLD = "hold"  # do not send


class Answer(StrEnum):
    """What one try tells the host's circuit."""

    OK = "ok"  # a success
    REFUSED = "refused"  # a refusal (a 4xx other than 429): the host is up
    DOWN = "down"  # a retriable failure (5xx, timeout, no connection)
    THROTTLED = "throttled"  # a 429: the host is up, and every call to it pauses


class Change(StrEnum):
    """How an answer changed the circuit (``record``'s result; None: it did not)."""

    OPENED = "opened"
    CLOSED = "closed"


@dataclass
class CircuitState:
    """One host's circuit and budget, stored as a JSON object of these fields (``to_json``) in its
    ``LinkCircuit`` row or Redis key. Times are Unix timestamps; 0 means never / none."""

    state: CircuitMode = CircuitMode.CLOSED
    since: float = 0.0  # when it last opened or closed
    failures: int = 0  # retriable failures in a row, while closed
    closed_at: float = 0.0
    next_probe_at: float = 0.0
    probe_until: float = 0.0  # the probe in flight holds its lease until then
    probes: int = 0  # probes sent since it opened
    paused_until: float = 0.0  # a 429's pause for every call to the host
    tat: float = 0.0  # the rate budget's theoretical arrival time (GCRA)
    drain_since: float = 0.0
    drain_until: float = 0.0
    drain_total: int = 0  # calls released when it last closed

    @classmethod
    def from_json(cls, stored: Mapping[str, Any] | None) -> "CircuitState":
        """Read a stored object; a key it lacks (a row written before the key existed, or none at all)
        takes its default, and a key it does not know is dropped."""
        known = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {name: value for name, value in (stored or {}).items() if name in known}
        state = cls(**values)
        state.state = CircuitMode(state.state)
        return state

    def to_json(self) -> dict[str, Any]:
        """The stored object: the same keys and plain JSON values as the dict it replaces."""
        stored = dataclasses.asdict(self)
        stored["state"] = str(self.state)
        return stored

    def copy(self) -> "CircuitState":
        return dataclasses.replace(self)

    def update(self, changes: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        """Set several fields at once by name, as ``dict.update`` (e.g. a test moving the circuit's clock
        in ``store.change``); an unknown name is a ``TypeError``."""
        changes = {**(changes or {}), **more}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"CircuitState has no field {', '.join(sorted(unknown))}")
        for name, value in changes.items():
            setattr(self, name, value)


def fresh() -> CircuitState:
    """A host never seen: closed, no failures, no budget used."""
    return CircuitState()


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

    action: Action
    wait: float | None = 0.0


def _rate(state: CircuitState, now: float, limits: Limits) -> float:
    draining = limits.drain_rate if now < state.drain_until else 0.0
    rates = [r for r in (limits.rate, draining) if r > 0]
    return min(rates) if rates else 0.0


def decide(state: CircuitState, now: float, limits: Limits, max_wait: float) -> Permit:
    """May a call go now? Reserves its slot (or the probe) in ``state``."""
    if state.state == CircuitMode.OPEN:
        if state.probe_until > now or now < state.next_probe_at:
            return Permit(Action.HOLD, None)
        state.probe_until = now + limits.probe_lease
        state.probes += 1
        return Permit(Action.PROBE)
    start = max(now, state.paused_until)
    rate = _rate(state, now, limits)
    interval = 1.0 / rate if rate else 0.0
    if rate:
        start = max(start, state.tat - (max(1, limits.burst) - 1) * interval)
    if start - now > max_wait:
        return Permit(Action.HOLD, start - now)
    if rate:
        state.tat = max(state.tat, start) + interval
    return Permit(Action.SEND, start - now)


def record(
    state: CircuitState, now: float, limits: Limits, result: Answer, *, probe: bool, pause: float = 0.0
) -> Change | None:
    """Apply one answer to ``state``; the ``Change`` when it opened or closed the circuit."""
    if probe:
        state.probe_until = 0.0
    if result == Answer.THROTTLED:
        state.paused_until = max(state.paused_until, now + pause)
    if result != Answer.DOWN:  # the host answered: it is up
        state.failures = 0
        if state.state == CircuitMode.OPEN:
            state.state, state.since, state.closed_at, state.probes = CircuitMode.CLOSED, now, now, 0
            return Change.CLOSED
        return None
    if state.state == CircuitMode.OPEN:
        if probe:
            state.next_probe_at = now + limits.probe_interval
        return None
    state.failures += 1
    if state.failures < limits.failures:
        return None
    state.state, state.since, state.next_probe_at = CircuitMode.OPEN, now, now + limits.probe_interval
    state.probes, state.drain_until = 0, 0.0
    return Change.OPENED


def start_drain(state: CircuitState, now: float, limits: Limits, waiting: int) -> None:
    if waiting and limits.drain_rate > 0:
        state.drain_since, state.drain_total, state.drain_until = now, waiting, now + waiting / limits.drain_rate


# --- where the state lives -------------------------------------------------------------------------


class CircuitStore(Protocol):
    """Where every worker reads and changes the hosts' circuits."""

    def read(self, host: str) -> CircuitState: ...

    def read_all(self) -> dict[str, CircuitState]: ...

    def change(self, host: str, fn: Callable[[CircuitState], T]) -> T:
        """Apply ``fn`` to the host's state atomically (no other worker changes it meanwhile), store the
        result, and return what ``fn`` returned."""
        ...


class DatabaseStore:
    """One ``LinkCircuit`` row per host, changed under its row lock."""

    def read(self, host: str) -> CircuitState:
        row = LinkCircuit.objects.filter(host=host).values_list("state", flat=True).first()
        return CircuitState.from_json(row)

    def read_all(self) -> dict[str, CircuitState]:
        return {host: CircuitState.from_json(state) for host, state in LinkCircuit.objects.values_list("host", "state")}

    def change(self, host: str, fn: Callable[[CircuitState], T]) -> T:
        while True:
            try:
                with transaction.atomic():
                    row = LinkCircuit.objects.select_for_update().get(host=host)
                    stored = CircuitState.from_json(row.state)
                    state = stored.copy()
                    result = fn(state)
                    if state != stored:
                        row.state = state.to_json()
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

    def read(self, host: str) -> CircuitState:
        raw = self.redis.get(self.prefix + host)
        return CircuitState.from_json(json.loads(raw) if raw else None)

    def read_all(self) -> dict[str, CircuitState]:
        hosts = sorted(h.decode() if isinstance(h, bytes) else h for h in self.redis.smembers(self.prefix + "hosts"))
        return {host: self.read(host) for host in hosts}

    def change(self, host: str, fn: Callable[[CircuitState], T]) -> T:
        key = self.prefix + host
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    state = CircuitState.from_json(json.loads(raw) if raw else None)
                    result = fn(state)
                    pipe.multi()
                    pipe.set(key, json.dumps(state.to_json()))
                    pipe.sadd(self.prefix + "hosts", host)
                    pipe.execute()
                    return result
                except self._watch_error:
                    continue


_stores: dict[tuple[str, str], CircuitStore] = {}
_stores_lock = threading.Lock()


def circuit_store() -> CircuitStore:
    """Redis when ``REDIS_URL`` is set (every worker uses it already), else the database."""
    url, site = settings.REDIS_URL, settings.Q_CLUSTER["name"]
    with _stores_lock:
        if (url, site) not in _stores:
            _stores[url, site] = RedisStore(url, site) if url else DatabaseStore()
        return _stores[url, site]


def _change(host: str, fn: Callable[[CircuitState], T]) -> T:
    """Apply ``fn`` to the host's state; a change that would leave it as it is takes no lock."""
    store = circuit_store()
    seen = store.read(host)
    trial = seen.copy()
    result = fn(trial)
    if trial == seen:
        return result
    return store.change(host, fn)


# --- the services the outbox calls -----------------------------------------------------------------


def circuit_acquire(host: str, *, max_wait: float) -> Permit:
    limits = Limits.from_settings()
    return _change(host, lambda state: decide(state, time.time(), limits, max_wait))


def circuit_record(host: str, result: Answer, *, probe: bool, pause: float = 0.0) -> Change | None:
    limits = Limits.from_settings()
    return _change(host, lambda state: record(state, time.time(), limits, result, probe=probe, pause=pause))


def circuit_drain_start(host: str, waiting: int) -> None:
    limits = Limits.from_settings()
    _change(host, lambda state: start_drain(state, time.time(), limits, waiting))


@dataclass(frozen=True)
class CircuitStatus:
    host: str
    state: CircuitMode
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
        return self.state == CircuitMode.OPEN


def _when(ts: float) -> datetime | None:
    return datetime.fromtimestamp(ts, UTC) if ts else None


def _status(host: str, state: CircuitState, now: float) -> CircuitStatus:
    return CircuitStatus(
        host=host,
        state=state.state,
        since=_when(state.since),
        failures=state.failures,
        probes=state.probes,
        probe_in_flight=state.probe_until > now,
        probe_due=state.state == CircuitMode.OPEN and state.probe_until <= now and state.next_probe_at <= now,
        paused_until=_when(state.paused_until) if state.paused_until > now else None,
        closed_at=_when(state.closed_at),
        draining=state.drain_until > now,
        drain_total=state.drain_total,
        drain_until=_when(state.drain_until) if state.drain_until > now else None,
    )


def circuit_status(host: str) -> CircuitStatus:
    return _status(host, circuit_store().read(host), time.time())


def circuits_status() -> list[CircuitStatus]:
    now = time.time()
    return [_status(host, state, now) for host, state in circuit_store().read_all().items()]

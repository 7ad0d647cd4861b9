"""The circuit and budget per Link host (issue 12): the rules, and the two places that keep them shared."""

import json
import threading
import uuid

import pytest
import redis
from django.db import connection

from integration.services.outbox import circuit
from integration.services.outbox.circuit import (
    Action,
    Answer,
    Change,
    CircuitMode,
    CircuitState,
    DatabaseStore,
    Limits,
    RedisStore,
    decide,
    fresh,
    record,
    start_drain,
)

LIMITS = Limits(failures=3, probe_interval=2.0, probe_lease=10.0, rate=0.0, burst=1, drain_rate=10.0)
REDIS_URL = "redis://127.0.0.1:6379/4"


def opened(now=100.0, limits=LIMITS) -> CircuitState:
    state = fresh()
    for _ in range(limits.failures):
        result = record(state, now, limits, Answer.DOWN, probe=False)
    assert result == Change.OPENED
    return state


def test_a_run_of_retriable_failures_opens_it_and_a_success_between_resets_the_run():
    state = fresh()
    record(state, 1, LIMITS, Answer.DOWN, probe=False)
    record(state, 2, LIMITS, Answer.DOWN, probe=False)
    record(state, 3, LIMITS, Answer.OK, probe=False)
    record(state, 4, LIMITS, Answer.DOWN, probe=False)
    assert record(state, 5, LIMITS, Answer.DOWN, probe=False) is None and state.state == CircuitMode.CLOSED
    assert record(state, 6, LIMITS, Answer.DOWN, probe=False) == Change.OPENED
    assert state.state == CircuitMode.OPEN and state.since == 6


def test_open_lets_one_probe_through_at_a_time_every_probe_interval():
    state = opened(now=100.0)
    assert decide(state, 101.0, LIMITS, max_wait=10).action == Action.HOLD  # before the first probe is due
    assert decide(state, 102.0, LIMITS, max_wait=10).action == Action.PROBE
    assert decide(state, 102.1, LIMITS, max_wait=10) == circuit.Permit(Action.HOLD, None)  # probe in flight
    assert record(state, 103.0, LIMITS, Answer.DOWN, probe=True) is None
    assert decide(state, 104.0, LIMITS, max_wait=10).action == Action.HOLD  # next probe at 105
    assert decide(state, 105.0, LIMITS, max_wait=10).action == Action.PROBE
    assert state.probes == 2


def test_a_probe_whose_worker_died_frees_the_slot_after_its_lease():
    state = opened(now=100.0)
    assert decide(state, 102.0, LIMITS, max_wait=10).action == Action.PROBE
    assert decide(state, 111.0, LIMITS, max_wait=10).action == Action.HOLD
    assert decide(state, 112.5, LIMITS, max_wait=10).action == Action.PROBE


@pytest.mark.parametrize("answer", [Answer.OK, Answer.REFUSED, Answer.THROTTLED])
def test_any_answer_from_link_closes_it(answer):
    state = opened(now=100.0)
    decide(state, 102.0, LIMITS, max_wait=10)
    assert record(state, 102.5, LIMITS, answer, probe=True, pause=1.0) == Change.CLOSED
    assert state.state == CircuitMode.CLOSED and state.closed_at == 102.5 and state.probe_until == 0.0


def test_a_late_failure_of_a_call_sent_before_it_opened_does_not_move_the_probe():
    state = opened(now=100.0)
    record(state, 101.0, LIMITS, Answer.DOWN, probe=False)
    assert decide(state, 102.0, LIMITS, max_wait=10).action == Action.PROBE


def test_a_429_pauses_every_call_to_the_host():
    state = fresh()
    record(state, 10.0, LIMITS, Answer.THROTTLED, probe=False, pause=3.0)
    permit = decide(state, 11.0, LIMITS, max_wait=10)
    assert permit.action == Action.SEND and permit.wait == pytest.approx(2.0)
    assert decide(state, 11.0, LIMITS, max_wait=1) == circuit.Permit(Action.HOLD, 2.0)
    assert decide(state, 13.5, LIMITS, max_wait=0).action == Action.SEND


@pytest.mark.parametrize(
    ("burst", "expected"), [(1, [0.0, 0.1, 0.2, 0.3, 0.4]), (3, [0.0, 0.0, 0.0, 0.1, 0.2])], ids=["even", "burst"]
)
def test_the_budget_spaces_calls_at_its_rate_after_a_burst(burst, expected):
    limits = Limits(failures=3, probe_interval=2, probe_lease=10, rate=10.0, burst=burst, drain_rate=0)
    state = fresh()
    assert [decide(state, 50.0, limits, max_wait=5).wait for _ in range(5)] == pytest.approx(expected)
    assert decide(state, 50.0, limits, max_wait=expected[-1] + 0.05).action == Action.HOLD  # would need 0.1 s more
    for _ in range(burst):  # idle time is not banked beyond the burst
        assert decide(state, 60.0, limits, max_wait=0).wait == 0.0
    assert decide(state, 60.0, limits, max_wait=0).action == Action.HOLD


def test_a_drain_goes_at_the_drain_rate_then_ends():
    state = opened(now=100.0)
    decide(state, 102.0, LIMITS, max_wait=10)
    record(state, 102.2, LIMITS, Answer.OK, probe=True)
    start_drain(state, 102.2, LIMITS, waiting=20)  # 20 calls at 10/s: two seconds
    assert state.drain_until == pytest.approx(104.2)
    waits = [decide(state, 102.2, LIMITS, max_wait=5).wait for _ in range(3)]
    assert waits == pytest.approx([0.0, 0.1, 0.2])
    assert decide(state, 105.0, LIMITS, max_wait=0).action == Action.SEND
    assert decide(state, 105.0, LIMITS, max_wait=0).action == Action.SEND  # no bound once drained


# --- shared between workers ----------------------------------------------------------------------


def _race_for_the_probe(threads: int = 8) -> list[Action]:
    barrier = threading.Barrier(threads)
    actions = []

    def worker():
        barrier.wait()
        try:
            actions.append(circuit.circuit_acquire("link.test", max_wait=10).action)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return actions


def _open_the_circuit(settings):
    settings.LINK_CIRCUIT_FAILURES = 2
    settings.LINK_CIRCUIT_PROBE_INTERVAL = 0
    circuit.circuit_record("link.test", Answer.DOWN, probe=False)
    assert circuit.circuit_record("link.test", Answer.DOWN, probe=False) == Change.OPENED


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_database_circuit_gives_the_probe_to_one_worker_of_many(settings):
    settings.REDIS_URL = ""
    _open_the_circuit(settings)
    assert sorted(_race_for_the_probe()) == [Action.HOLD] * 7 + [Action.PROBE]
    status = circuit.circuit_status("link.test")
    assert status.state == CircuitMode.OPEN and status.probe_in_flight and status.probes == 1
    assert circuit.circuit_record("link.test", Answer.OK, probe=True) == Change.CLOSED
    assert circuit.circuit_status("link.test").state == CircuitMode.CLOSED


@pytest.fixture
def redis_circuit(settings):
    """A site name of this test's own: test runs sharing the Redis never see each other's circuits."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    site = f"test-{uuid.uuid4().hex[:12]}"
    settings.REDIS_URL, settings.Q_CLUSTER = REDIS_URL, {**settings.Q_CLUSTER, "name": site}
    yield client
    for key in client.scan_iter(f"{site}:*"):
        client.delete(key)


@pytest.mark.django_db
def test_redis_circuit_gives_the_probe_to_one_worker_of_many(settings, redis_circuit):
    _open_the_circuit(settings)
    assert sorted(_race_for_the_probe()) == [Action.HOLD] * 7 + [Action.PROBE]
    assert [s.host for s in circuit.circuits_status()] == ["link.test"]
    assert circuit.circuit_status("link.test").probe_in_flight
    assert not circuit.LinkCircuit.objects.exists()  # Redis, not the database, keeps it


@pytest.mark.django_db
def test_redis_circuits_of_two_sites_sharing_a_redis_keep_apart(settings, redis_circuit):
    _open_the_circuit(settings)
    assert circuit.circuit_status("link.test").state == CircuitMode.OPEN
    site = settings.Q_CLUSTER["name"]
    assert redis_circuit.exists(f"{site}:circuit:link.test")
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "name": f"{site}-staging"}
    assert circuit.circuit_status("link.test").state == CircuitMode.CLOSED and circuit.circuits_status() == []


@pytest.mark.django_db
def test_redis_budget_is_shared(settings, redis_circuit):
    settings.LINK_RATE_LIMIT = 5
    waits = sorted(circuit.circuit_acquire("link.test", max_wait=5).wait for _ in range(3))
    assert waits[0] == pytest.approx(0, abs=0.05)
    assert waits[2] == pytest.approx(0.4, abs=0.05)


# --- the stored shape ------------------------------------------------------------------------------

# A row as the dict-based circuit stored it before the drain keys existed, with a key no release knows.
OLD_ROW = {"state": "open", "since": 1700.5, "failures": 5, "closed_at": 0, "next_probe_at": 1703.5, "legacy": 1}
STORED_KEYS = {
    "state",
    "since",
    "failures",
    "closed_at",
    "next_probe_at",
    "probe_until",
    "probes",
    "paused_until",
    "tat",
    "drain_since",
    "drain_until",
    "drain_total",
}


def test_the_vocabulary_keeps_the_strings_stored_rows_and_metrics_use():
    assert [str(m) for m in CircuitMode] == ["closed", "open"]
    assert [str(a) for a in Action] == ["send", "probe", "hold"]
    assert [str(a) for a in Answer] == ["ok", "refused", "down", "throttled"]
    assert [str(c) for c in Change] == ["opened", "closed"]


def test_a_state_is_stored_as_the_same_json_object_as_before():
    stored = fresh().to_json()
    assert set(stored) == STORED_KEYS and stored["state"] == "closed" and type(stored["state"]) is str
    assert json.loads(json.dumps(stored)) == stored
    assert CircuitState.from_json(stored) == fresh()


def test_an_old_row_loads_with_defaults_for_the_keys_it_lacks():
    state = CircuitState.from_json(OLD_ROW)
    assert state.state is CircuitMode.OPEN and state.since == 1700.5 and state.failures == 5
    assert (state.drain_until, state.drain_total, state.tat) == (0.0, 0, 0.0)
    assert CircuitState.from_json(None) == CircuitState.from_json({}) == fresh()


@pytest.mark.django_db
def test_the_database_store_reads_and_changes_a_row_stored_as_a_dict():
    circuit.LinkCircuit.objects.create(host="old.link.test", state=OLD_ROW)
    store = DatabaseStore()
    assert store.read("old.link.test").state == CircuitMode.OPEN
    assert store.read_all()["old.link.test"].failures == 5
    store.change("old.link.test", lambda state: record(state, 1710.0, LIMITS, Answer.OK, probe=True))
    row = circuit.LinkCircuit.objects.get(host="old.link.test").state
    assert set(row) == STORED_KEYS and row["state"] == "closed" and row["closed_at"] == 1710.0


@pytest.mark.django_db
def test_the_redis_store_reads_a_value_stored_as_a_dict(settings, redis_circuit):
    store = circuit.circuit_store()
    assert isinstance(store, RedisStore)
    store.redis.set(store.prefix + "old.link.test", json.dumps(OLD_ROW))
    assert store.read("old.link.test").next_probe_at == 1703.5
    store.change("old.link.test", lambda state: start_drain(state, 1710.0, LIMITS, waiting=10))
    stored = json.loads(store.redis.get(store.prefix + "old.link.test"))
    assert set(stored) == STORED_KEYS and stored["state"] == "open" and stored["drain_total"] == 10


def test_a_state_updates_fields_by_name_as_a_dict_did():
    state = fresh()
    state.update({"failures": 2}, since=5.0)
    assert (state.failures, state.since) == (2, 5.0)
    with pytest.raises(TypeError, match="no field colour"):
        state.update(colour="red")

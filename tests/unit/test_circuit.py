"""The circuit and budget per Link host (issue 12): the rules, and the two places that keep them shared."""

import threading
import uuid

import pytest
import redis
from django.db import connection

from integration.services.outbox import circuit
from integration.services.outbox.circuit import (
    CLOSED,
    CLOSED_NOW,
    DOWN,
    HOLD,
    OK,
    OPEN,
    OPENED,
    PROBE,
    REFUSED,
    SEND,
    THROTTLED,
    Limits,
    decide,
    fresh,
    record,
    start_drain,
)

LIMITS = Limits(failures=3, probe_interval=2.0, probe_lease=10.0, rate=0.0, burst=1, drain_rate=10.0)
REDIS_URL = "redis://127.0.0.1:6379/4"


def opened(now=100.0, limits=LIMITS) -> dict:
    state = fresh()
    for _ in range(limits.failures):
        result = record(state, now, limits, DOWN, probe=False)
    assert result == OPENED
    return state


def test_a_run_of_retriable_failures_opens_it_and_a_success_between_resets_the_run():
    state = fresh()
    record(state, 1, LIMITS, DOWN, probe=False)
    record(state, 2, LIMITS, DOWN, probe=False)
    record(state, 3, LIMITS, OK, probe=False)
    record(state, 4, LIMITS, DOWN, probe=False)
    assert record(state, 5, LIMITS, DOWN, probe=False) is None and state["state"] == CLOSED
    assert record(state, 6, LIMITS, DOWN, probe=False) == OPENED
    assert state["state"] == OPEN and state["since"] == 6


def test_open_lets_one_probe_through_at_a_time_every_probe_interval():
    state = opened(now=100.0)
    assert decide(state, 101.0, LIMITS, max_wait=10).action == HOLD  # before the first probe is due
    assert decide(state, 102.0, LIMITS, max_wait=10).action == PROBE
    assert decide(state, 102.1, LIMITS, max_wait=10) == circuit.Permit(HOLD, None)  # probe in flight
    assert record(state, 103.0, LIMITS, DOWN, probe=True) is None
    assert decide(state, 104.0, LIMITS, max_wait=10).action == HOLD  # next probe at 105
    assert decide(state, 105.0, LIMITS, max_wait=10).action == PROBE
    assert state["probes"] == 2


def test_a_probe_whose_worker_died_frees_the_slot_after_its_lease():
    state = opened(now=100.0)
    assert decide(state, 102.0, LIMITS, max_wait=10).action == PROBE
    assert decide(state, 111.0, LIMITS, max_wait=10).action == HOLD
    assert decide(state, 112.5, LIMITS, max_wait=10).action == PROBE


@pytest.mark.parametrize("answer", [OK, REFUSED, THROTTLED])
def test_any_answer_from_link_closes_it(answer):
    state = opened(now=100.0)
    decide(state, 102.0, LIMITS, max_wait=10)
    assert record(state, 102.5, LIMITS, answer, probe=True, pause=1.0) == CLOSED_NOW
    assert state["state"] == CLOSED and state["closed_at"] == 102.5 and state["probe_until"] == 0.0


def test_a_late_failure_of_a_call_sent_before_it_opened_does_not_move_the_probe():
    state = opened(now=100.0)
    record(state, 101.0, LIMITS, DOWN, probe=False)
    assert decide(state, 102.0, LIMITS, max_wait=10).action == PROBE


def test_a_429_pauses_every_call_to_the_host():
    state = fresh()
    record(state, 10.0, LIMITS, THROTTLED, probe=False, pause=3.0)
    permit = decide(state, 11.0, LIMITS, max_wait=10)
    assert permit.action == SEND and permit.wait == pytest.approx(2.0)
    assert decide(state, 11.0, LIMITS, max_wait=1) == circuit.Permit(HOLD, 2.0)
    assert decide(state, 13.5, LIMITS, max_wait=0).action == SEND


@pytest.mark.parametrize(
    ("burst", "expected"), [(1, [0.0, 0.1, 0.2, 0.3, 0.4]), (3, [0.0, 0.0, 0.0, 0.1, 0.2])], ids=["even", "burst"]
)
def test_the_budget_spaces_calls_at_its_rate_after_a_burst(burst, expected):
    limits = Limits(failures=3, probe_interval=2, probe_lease=10, rate=10.0, burst=burst, drain_rate=0)
    state = fresh()
    assert [decide(state, 50.0, limits, max_wait=5).wait for _ in range(5)] == pytest.approx(expected)
    assert decide(state, 50.0, limits, max_wait=expected[-1] + 0.05).action == HOLD  # would need 0.1 s more
    for _ in range(burst):  # idle time is not banked beyond the burst
        assert decide(state, 60.0, limits, max_wait=0).wait == 0.0
    assert decide(state, 60.0, limits, max_wait=0).action == HOLD


def test_a_drain_goes_at_the_drain_rate_then_ends():
    state = opened(now=100.0)
    decide(state, 102.0, LIMITS, max_wait=10)
    record(state, 102.2, LIMITS, OK, probe=True)
    start_drain(state, 102.2, LIMITS, waiting=20)  # 20 calls at 10/s: two seconds
    assert state["drain_until"] == pytest.approx(104.2)
    waits = [decide(state, 102.2, LIMITS, max_wait=5).wait for _ in range(3)]
    assert waits == pytest.approx([0.0, 0.1, 0.2])
    assert decide(state, 105.0, LIMITS, max_wait=0).action == SEND
    assert decide(state, 105.0, LIMITS, max_wait=0).action == SEND  # no bound once drained


# --- shared between workers ----------------------------------------------------------------------


def _race_for_the_probe(threads: int = 8) -> list[str]:
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
    circuit.circuit_record("link.test", DOWN, probe=False)
    assert circuit.circuit_record("link.test", DOWN, probe=False) == OPENED


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_database_circuit_gives_the_probe_to_one_worker_of_many(settings):
    settings.REDIS_URL = ""
    _open_the_circuit(settings)
    assert sorted(_race_for_the_probe()) == [HOLD] * 7 + [PROBE]
    status = circuit.circuit_status("link.test")
    assert status.state == OPEN and status.probe_in_flight and status.probes == 1
    assert circuit.circuit_record("link.test", OK, probe=True) == CLOSED_NOW
    assert circuit.circuit_status("link.test").state == CLOSED


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
    assert sorted(_race_for_the_probe()) == [HOLD] * 7 + [PROBE]
    assert [s.host for s in circuit.circuits_status()] == ["link.test"]
    assert circuit.circuit_status("link.test").probe_in_flight
    assert not circuit.LinkCircuit.objects.exists()  # Redis, not the database, keeps it


@pytest.mark.django_db
def test_redis_circuits_of_two_sites_sharing_a_redis_keep_apart(settings, redis_circuit):
    _open_the_circuit(settings)
    assert circuit.circuit_status("link.test").state == OPEN
    site = settings.Q_CLUSTER["name"]
    assert redis_circuit.exists(f"{site}:circuit:link.test")
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "name": f"{site}-staging"}
    assert circuit.circuit_status("link.test").state == CLOSED and circuit.circuits_status() == []


@pytest.mark.django_db
def test_redis_budget_is_shared(settings, redis_circuit):
    settings.LINK_RATE_LIMIT = 5
    waits = sorted(circuit.circuit_acquire("link.test", max_wait=5).wait for _ in range(3))
    assert waits[0] == pytest.approx(0, abs=0.05)
    assert waits[2] == pytest.approx(0.4, abs=0.05)

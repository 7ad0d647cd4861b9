"""Webhooks out: signatures, retries with the same id, duplicates, reordering, delay, giving up."""

import time

import pytest

from dev.sandbox.control import SandboxControl

from .conftest import Receiver


@pytest.fixture
def control(sandbox) -> SandboxControl:
    """No venue connected first: only the events a test emits reach the receiver."""
    return SandboxControl(sandbox.base_url)


def _delivered(receiver, type_):
    return [e for e in receiver.received if e["type"] == type_]


def test_retry_on_500_keeps_the_event_id(sandbox, control, receiver):
    receiver.script = [500, 500]
    control.emit_event("store.resumed", "ven_9")
    control.wait_quiet(5)
    tries = _delivered(receiver, "store.resumed")
    assert [t["_status"] for t in tries] == [500, 500, 200]
    assert len({t["id"] for t in tries}) == 1
    attempts = control.webhooks("store.resumed")["attempts"]
    assert [(a["attempt"], a["status"], a["ok"]) for a in attempts] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    assert control.webhooks("store.resumed")["events"][0]["status"] == "delivered"


def test_connection_errors_are_retried_and_given_up_after_max_attempts(make_sandbox):
    sandbox = make_sandbox(target="http://127.0.0.1:9/nothing-listens", webhook_max_attempts=3)
    control = SandboxControl(sandbox.base_url)
    control.emit_event("store.resumed", "ven_1", event_id="evt_fixed")
    control.wait_quiet(5)
    report = control.webhooks()
    assert [a["attempt"] for a in report["attempts"]] == [1, 2, 3]
    assert all(a["error"] and a["status"] is None for a in report["attempts"])
    assert {a["event_id"] for a in report["attempts"]} == {"evt_fixed"}
    assert report["events"][0]["status"] == "failed"


def test_duplicates_deliver_the_same_event_twice(sandbox, control, receiver):
    control.set_faults(webhook_duplicate_rate=1.0)
    control.emit_event("store.resumed", "ven_9")
    control.wait_quiet(5)
    copies = _delivered(receiver, "store.resumed")
    assert len(copies) == 2
    assert copies[0] == copies[1]


def test_reorder_holds_an_event_until_the_venues_next_one(sandbox, control, receiver):
    control.set_faults(webhook_reorder_rate=1.0, webhook_max_hold_ms=5000)
    control.emit_event("store.paused", "ven_9", {"reason": "x", "paused_until": None})
    time.sleep(0.2)
    assert _delivered(receiver, "store.paused") == []
    assert control.quiet()["pending_webhooks"] == 1
    control.set_faults(webhook_reorder_rate=0.0)
    control.emit_event("store.resumed", "ven_9")
    control.wait_quiet(5)
    assert [e["type"] for e in receiver.received] == ["store.resumed", "store.paused"]


def test_a_held_event_goes_out_after_the_max_hold(sandbox, control, receiver):
    control.set_faults(webhook_reorder_rate=1.0, webhook_max_hold_ms=200)
    started = time.monotonic()
    control.emit_event("store.resumed", "ven_9")
    control.wait_quiet(5)
    assert time.monotonic() - started >= 0.2
    assert len(_delivered(receiver, "store.resumed")) == 1


def test_delay_holds_each_delivery(sandbox, control, receiver):
    control.set_faults(webhook_delay_ms=300)
    started = time.monotonic()
    control.emit_event("store.resumed", "ven_9")
    receiver.wait_for(lambda: _delivered(receiver, "store.resumed"), timeout=5)
    assert time.monotonic() - started >= 0.3


def test_events_of_one_venue_arrive_in_order(sandbox, control, receiver):
    for n in range(20):
        control.emit_event("store.paused", "ven_9", {"reason": str(n), "paused_until": None})
    control.wait_quiet(5)
    assert [e["data"]["reason"] for e in receiver.received] == [str(n) for n in range(20)]


def test_every_secret_signs_during_a_rotation(make_sandbox):
    old, new = Receiver(secrets=["whsec-old"]), Receiver(secrets=["whsec-new"])
    try:
        for receiver in (old, new):
            sandbox = make_sandbox(target=receiver.url, webhook_secrets=["whsec-old", "whsec-new"])
            SandboxControl(sandbox.base_url).emit_event("store.resumed", "ven_1")
            receiver.wait_for(lambda r=receiver: r.received, timeout=5)
            assert receiver.rejected == []
    finally:
        old.close()
        new.close()


def test_a_receiver_with_the_wrong_secret_rejects_and_link_retries(make_sandbox):
    receiver = Receiver(secrets=["whsec-other"])
    try:
        sandbox = make_sandbox(target=receiver.url, webhook_max_attempts=2)
        control = SandboxControl(sandbox.base_url)
        control.emit_event("store.resumed", "ven_1")
        control.wait_quiet(5)
        assert receiver.rejected == ["signature_invalid", "signature_invalid"]
        assert [a["status"] for a in control.webhooks()["attempts"]] == [401, 401]
    finally:
        receiver.close()


def test_reset_drops_pending_retries(sandbox, control, receiver):
    receiver.script = [500] * 50
    control.emit_event("store.resumed", "ven_9")
    receiver.wait_for(lambda: receiver.received, timeout=5)
    control.reset()
    control.wait_quiet(5)
    tries = len(receiver.received)
    time.sleep(0.3)  # well past the 0.05-0.2 s backoff of the test sandbox
    assert len(receiver.received) == tries
    assert control.webhooks() == {"events": [], "attempts": []}

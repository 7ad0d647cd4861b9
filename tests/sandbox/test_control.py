"""The control API: quiet, inspection, custom events, reset, errors; and the management command."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from dev.sandbox.control import SandboxControl

from .conftest import order_body

ROOT = Path(__file__).resolve().parents[2]


def test_quiet_reports_pending_timers_and_webhooks(sandbox, control, api):
    control.wait_quiet(5)
    control.set_restaurant(confirm_after=0.5)
    api.submit(order_body("mp_1"))
    busy = control.quiet()
    assert busy["quiet"] is False
    assert busy["pending_timers"] == 1
    settled = control.wait_quiet(5)
    assert (settled["pending_timers"], settled["pending_webhooks"]) == (0, 0)
    assert control.order("mp_1")["status"] == "READY"


def test_custom_events_are_signed_and_keep_a_given_id(sandbox, control, receiver):
    envelope = control.emit_event(
        "order.preparing",
        "ven_1",
        {"order_id": "ord_x", "external_order_id": "mp_x", "estimated_ready_at": "2026-11-27T12:30:00Z"},
        event_id="evt_custom_1",
    )
    assert envelope["id"] == "evt_custom_1"
    control.wait_quiet(5)
    (event,) = receiver.events("order.")
    assert event["id"] == "evt_custom_1"
    assert event["data"]["estimated_ready_at"] == "2026-11-27T12:30:00Z"


def test_restaurant_settings_round_trip(sandbox, control):
    assert control.set_restaurant(reject_rate=0.5)["reject_rate"] == 0.5
    assert control.restaurant()["reject_rate"] == 0.5
    assert (
        requests.post(f"{sandbox.base_url}/_sandbox/restaurant", json={"reject_rate": 5}, timeout=5).status_code == 400
    )


def test_reset_forgets_state_but_keeps_settings(sandbox, control, api):
    control.set_faults(latency_ms=1)
    api.submit(order_body("mp_1"))
    control.reset()
    assert control.orders() == [] and control.venues() == [] and control.calls() == []
    assert control.webhooks() == {"events": [], "attempts": []}
    assert control.faults()["latency_ms"] == 1
    assert api.call("GET", "/v2/venues/ven_1").status_code == 404  # the token still works
    control.reset(faults=True, tokens=True)
    assert control.faults()["latency_ms"] == 0
    assert api.call("GET", "/v2/venues/ven_1").status_code == 401


def test_unknown_routes_and_methods(sandbox):
    assert requests.get(f"{sandbox.base_url}/v3/nothing", timeout=5).status_code == 404
    wrong = requests.get(f"{sandbox.base_url}/v2/orders", timeout=5)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    bad_json = requests.post(f"{sandbox.base_url}/_sandbox/venues", data=b"{", timeout=5)
    assert bad_json.status_code == 400


def test_webhooks_not_sent_without_a_target(make_sandbox):
    sandbox = make_sandbox(target=None)
    control = SandboxControl(sandbox.base_url)
    control.connect_venue("ven_1")
    assert control.quiet()["quiet"] is True
    (record,) = control.webhooks()["events"]
    assert record["status"] == "not_sent"


def test_management_command_serves_until_sigterm():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "link_sandbox", "--port", "0", "--seed", "1", "--target", "http://127.0.0.1:9/"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("Link sandbox on http://127.0.0.1:"), line + process.stderr.read()
        url = line.split()[3]
        assert SandboxControl(url).health()["seed"] == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()

"""Faults on MP -> Link calls: fail_next, 429, 503, timeouts that process, latency, the token endpoint."""

import time

import pytest
import requests

from dev.sandbox.control import SandboxControl
from dev.sandbox.faults import RateLimit

from .conftest import LinkApi, order_body


def test_fail_next_answers_503_twice_then_200(sandbox, control, api):
    api.fetch_token()
    control.set_faults(fail_next=2)
    answers = [api.call("GET", "/v2/venues/ven_1") for _ in range(3)]
    assert [r.status_code for r in answers] == [503, 503, 200]
    assert answers[0].json()["error"]["code"] == "sandbox_fail_next"
    assert control.faults()["fail_next"] == 0
    assert [c["fault"] for c in control.calls(path_prefix="/v2/")] == ["fail_next", "fail_next", None]


def test_fail_next_with_another_status(sandbox, control, api):
    api.fetch_token()
    control.set_faults(fail_next=1, fail_status=500)
    assert api.call("GET", "/v2/venues/ven_1").status_code == 500


def test_rate_limit_carries_retry_after(sandbox, control, api):
    api.fetch_token()
    control.set_faults(rate_limit_rate=1.0, retry_after=3)
    response = api.submit(order_body("mp_1"))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json()["error"]["code"] == "rate_limited"
    assert control.orders() == []  # refused before it was processed


def test_error_rate_answers_503_without_processing(sandbox, control, api):
    api.fetch_token()
    control.set_faults(error_rate=1.0)
    response = api.submit(order_body("mp_1"))
    assert response.status_code == 503
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert control.orders() == []
    control.set_faults(error_rate=0.0)
    assert api.submit(order_body("mp_1")).status_code == 201


def test_timeout_processes_the_call_then_hangs(sandbox, control, api):
    api.fetch_token()
    control.set_faults(timeout_rate=1.0, timeout_seconds=2)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.submit(order_body("mp_1"), timeout=0.5)
    assert time.monotonic() - started < 1.5
    (order,) = control.orders()  # the order exists although the client never heard
    assert order["external_order_id"] == "mp_1"
    assert control.calls("POST", "/v2/orders")[0]["status"] == "timeout"

    control.set_faults(timeout_rate=0.0)
    retry = api.submit(order_body("mp_1"))
    assert retry.status_code == 201
    assert retry.json()["order_id"] == order["order_id"]
    assert control.order("mp_1")["submissions"] == 2
    assert control.order("mp_1")["created"] == 1


def test_a_patient_client_sees_the_connection_dropped(sandbox, control, api):
    api.fetch_token()
    control.set_faults(timeout_rate=1.0, timeout_seconds=0.3)
    with pytest.raises(requests.exceptions.ConnectionError):
        api.call("GET", "/v2/venues/ven_1", timeout=5)


def test_latency_is_added_to_every_answer(sandbox, control, api):
    api.fetch_token()
    control.set_faults(latency_ms=300)
    started = time.monotonic()
    assert api.call("GET", "/v2/venues/ven_1").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_faults_spare_the_token_endpoint_and_the_control_api(sandbox, control):
    control.set_faults(error_rate=1.0)
    api = LinkApi(sandbox.base_url)
    assert api.fetch_token().status_code == 200
    assert control.health()["status"] == "ok"
    control.set_faults(faults_on_token=True)
    assert api.fetch_token().status_code == 503


def test_unknown_or_bad_fault_settings_are_refused(sandbox, control):
    response = requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"eror_rate": 1}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["unknown"] == ["eror_rate"]
    assert requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"error_rate": 2}, timeout=5).status_code == 400


def test_fault_dice_are_seeded(make_sandbox):
    def run() -> list[int]:
        sandbox = make_sandbox(seed=5, faults={"error_rate": 0.5})
        api = LinkApi(sandbox.base_url)
        return [api.call("GET", f"/v2/venues/ven_{n % 3}").status_code for n in range(30)]

    first, second = run(), run()
    assert first == second
    assert {503, 404} == set(first)


def test_outage_answers_503_to_every_call_and_the_token_endpoint_until_lifted(sandbox, control, api):
    api.fetch_token()
    control.set_faults(outage=True)
    assert api.submit(order_body("mp_1")).json()["error"]["code"] == "link_unavailable"
    assert api.call("GET", "/v2/venues/ven_1").status_code == 503
    assert api.fetch_token().status_code == 503  # also without faults_on_token
    assert control.orders() == []
    assert {c["fault"] for c in control.calls()[1:]} == {"outage"}
    control.set_faults(outage=False)
    assert api.submit(order_body("mp_1")).status_code == 201


def test_rate_limit_answers_429_with_retry_after_above_n_per_second(sandbox, control, api):
    api.fetch_token()
    control.set_faults(rate_limit=1)
    answers = [api.call("GET", "/v2/venues/ven_1") for _ in range(3)]
    assert answers[0].status_code == 200  # one second's worth at once
    refused = [r for r in answers if r.status_code == 429]
    assert refused and refused[0].headers["Retry-After"] == "1"
    assert refused[0].json()["error"]["code"] == "rate_limited"
    assert api.fetch_token().status_code == 200  # the token endpoint is not limited
    assert [c["fault"] for c in control.calls(path_prefix="/v2/")].count("rate_limit") == len(refused)


def test_the_rate_limit_is_a_bucket_of_one_second_refilled_at_the_rate():
    bucket = RateLimit()
    assert [bucket.take(5, 100.0) for _ in range(6)] == [0.0] * 5 + [pytest.approx(0.2)]
    assert bucket.take(5, 100.1) == pytest.approx(0.1)  # half a token back
    assert bucket.take(5, 100.2) == 0.0
    assert bucket.take(5, 200.0) == 0.0  # idle time fills it up to one second's worth, no more
    assert [bucket.take(5, 200.0) for _ in range(5)].count(0.0) == 4


def test_outage_and_rate_limit_set_at_start(make_sandbox):
    server = make_sandbox(faults={"rate_limit": 3, "outage": True})
    faults = SandboxControl(server.base_url).faults()
    assert faults["rate_limit"] == 3 and faults["outage"] is True
    assert LinkApi(server.base_url).fetch_token().status_code == 503

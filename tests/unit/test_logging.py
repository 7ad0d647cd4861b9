"""Structured logs (issue 15): LOG_FORMAT=json lines carry the ids that tie a story together."""

import json
import logging
import os
import subprocess
import sys

import pytest

from dev.processes import ROOT
from integration import tasks
from integration.logcontext import ContextFilter, log_context
from integration.services import link_events as webhooks
from tests.conftest import envelope
from tests.order_fixtures import link_answers_submit, make_store, place, submit_call

pytestmark = pytest.mark.django_db

SCRIPT = """
import logging, django
django.setup()
from integration.logcontext import log_context
with log_context(request_id="req-1", event_id="evt_1", external_order_id="mp_1", venue_id="ven_1", call_id=7):
    logging.getLogger("integration.test").warning("hello %s", "world")
logging.getLogger("integration.test").warning("outside")
"""


def run_logging(fmt: str) -> list[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "linkbridge.settings", "LOG_FORMAT": fmt, "LOG_LEVEL": "INFO"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return done.stderr.strip().splitlines()


def test_log_format_json_prints_one_object_per_line_with_the_ids():
    inside, outside = (json.loads(line) for line in run_logging("json"))
    assert (
        inside["message"] == "hello world" and inside["level"] == "WARNING" and inside["logger"] == "integration.test"
    )
    assert "time" in inside
    assert {k: inside[k] for k in ("request_id", "event_id", "external_order_id", "venue_id", "call_id")} == {
        "request_id": "req-1",
        "event_id": "evt_1",
        "external_order_id": "mp_1",
        "venue_id": "ven_1",
        "call_id": 7,
    }
    assert "event_id" not in outside and outside["message"] == "outside"


def test_plain_format_stays_text():
    lines = run_logging("plain")
    assert lines[0].endswith("WARNING integration.test hello world")
    with pytest.raises(ValueError):
        json.loads(lines[0])


@pytest.fixture
def ids_in(caplog):
    """Records captured with the ids the console handler's filter adds."""
    caplog.handler.addFilter(ContextFilter())
    caplog.set_level(logging.INFO)
    return caplog


def test_request_id_is_taken_from_the_header_or_made(client):
    assert client.get("/healthz/", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    made = client.get("/healthz/")["X-Request-ID"]
    assert len(made) == 32 and made != client.get("/healthz/")["X-Request-ID"]
    refused = client.get("/healthz/", HTTP_X_REQUEST_ID="bad id\twith spaces")["X-Request-ID"]
    assert refused != "bad id\twith spaces" and len(refused) == 32


def test_a_failing_webhook_logs_its_event_venue_order_and_request(post_event, ids_in, client, monkeypatch):
    data = {"external_order_id": "mp_nope", "order_id": "ord_1"}
    body = envelope("order.confirmed", data, venue_id="ven_9", event_id="evt_log1")
    monkeypatch.setitem(webhooks.HANDLERS, "order.confirmed", lambda event, data: 1 / 0)
    monkeypatch.setitem(client.defaults, "HTTP_X_REQUEST_ID", "req-webhook")
    assert post_event(body).status_code == 500
    record = next(r for r in ids_in.records if "evt_log1" in r.getMessage() and "failed" in r.getMessage())
    assert (record.event_id, record.venue_id, record.external_order_id, record.request_id) == (
        "evt_log1",
        "ven_9",
        "mp_nope",
        "req-webhook",
    )


def test_a_delivered_call_logs_its_call_order_and_venue(mocked_link, ids_in):
    make_store()
    order = place()
    call = submit_call(order)
    link_answers_submit(mocked_link, order, "ord_1")
    with log_context(request_id="outer"):
        tasks.deliver_call(call.pk)
    record = next(r for r in ids_in.records if "/v2/orders" in r.getMessage())
    assert (record.call_id, record.external_order_id, record.venue_id) == (call.pk, order.external_order_id, "ven_1")
    assert record.request_id == "outer"  # the ids add to, never replace, the context they run in

import json
import threading
import time

import pytest
from django.db import connection

from integration.models import Store, WebhookEvent
from integration.services import link_events as webhooks
from tests.conftest import SECRET, envelope, store_connected
from tests.waiting import wait_until_blocked

pytestmark = pytest.mark.django_db


def test_valid_signature_records_and_applies(post_event):
    resp = post_event(store_connected("ven_1", "sf_1"))
    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "PROCESSED"
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.PROCESSED and event.attempts == 1
    assert json.loads(event.body)["venue_id"] == "ven_1"
    store = Store.objects.get(venue_id="ven_1")
    assert (store.state, store.external_store_id, store.timezone) == ("ACTIVE", "sf_1", "America/New_York")


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"secrets": ("wrong-secret",)}, "signature_invalid"),
        ({"ts_offset": -301}, "signature_expired"),
        ({"ts_offset": 305}, "signature_expired"),
        ({"header": ""}, "signature_missing"),
        ({"header": "v1=abc"}, "signature_malformed"),
    ],
    ids=["wrong-secret", "stale", "future", "missing", "malformed"],
)
def test_bad_signatures_are_401_and_change_nothing(post_event, kwargs, code):
    kwargs = dict(kwargs)
    if "ts_offset" in kwargs:
        kwargs["timestamp"] = int(time.time()) + kwargs.pop("ts_offset")
    resp = post_event(store_connected(), **kwargs)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == code
    assert not WebhookEvent.objects.exists() and not Store.objects.exists()


def test_tampered_body_is_401(client):
    from integration.link import signatures

    raw = json.dumps(store_connected()).encode()
    header = signatures.sign(raw, SECRET)
    tampered = raw.replace(b"sf_1", b"sf_9")
    resp = client.post("/link/webhooks/", data=tampered, content_type="application/json", HTTP_LINK_SIGNATURE=header)
    assert resp.status_code == 401
    assert not Store.objects.exists()


def test_rotated_secret_any_v1_entry_is_enough(post_event, settings):
    settings.LINK_WEBHOOK_SECRETS = ["new-secret", SECRET]
    assert post_event(store_connected(), secrets=("new-secret",)).status_code == 200
    settings.LINK_WEBHOOK_SECRETS = ["new-secret"]
    assert post_event(store_connected("ven_2", "sf_2"), secrets=("old-secret", "new-secret")).status_code == 200
    assert post_event(store_connected("ven_3", "sf_3"), secrets=(SECRET,)).status_code == 401


def test_timestamp_inside_tolerance_is_accepted(post_event):
    assert post_event(store_connected(), timestamp=int(time.time()) - 290).status_code == 200


def test_body_over_one_mib_is_413(post_event):
    body = store_connected()
    body["data"]["padding"] = "x" * (1024 * 1024)
    resp = post_event(body)
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "body_too_large"
    assert not WebhookEvent.objects.exists()


def test_malformed_json_is_400(post_event):
    resp = post_event(None, raw=b"{not json")
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "malformed_json"


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        {"type": "store.connected", "created_at": "2026-11-27T12:00:00Z", "data": {}},
        {"id": "evt_1", "type": "store.connected", "created_at": "yesterday", "data": {}},
        {"id": "evt_1", "type": "store.connected", "created_at": "2026-11-27T12:00:00Z", "data": "x"},
    ],
    ids=["not-object", "no-id", "bad-time", "data-not-object"],
)
def test_malformed_envelope_is_400(post_event, body):
    resp = post_event(body)
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == "invalid_envelope" and err["message"]
    assert not WebhookEvent.objects.exists()


def test_malformed_data_of_known_type_is_400_with_details(post_event):
    resp = post_event(envelope("store.connected", {"name": "X", "timezone": "Mars/Olympus"}))
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == "invalid_event_data" and "timezone" in err["details"]


def test_unknown_type_is_recorded_ignored_2xx(post_event):
    resp = post_event(envelope("loyalty.points_changed", {"points": 3}))
    assert resp.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.IGNORED
    assert "unknown event type" in event.status_reason


def test_duplicate_id_sequential_applies_once(post_event):
    body = store_connected()
    assert post_event(body).json()["duplicate"] is False
    Store.objects.update(name="renamed by ops")
    second = post_event(body)
    assert second.status_code == 200 and second.json()["duplicate"] is True
    assert Store.objects.get().name == "renamed by ops"
    assert WebhookEvent.objects.get().attempts == 1


def test_handler_exception_fails_with_traceback_500_then_link_retry_applies(post_event, monkeypatch):
    def boom(event, data):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(webhooks.HANDLERS, "store.connected", boom)
    body = store_connected()
    resp = post_event(body)
    assert resp.status_code == 500
    assert resp.json()["error"]["code"] == "processing_failed"
    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.FAILED
    assert "database hiccup" in event.error and "Traceback" in event.traceback
    assert not Store.objects.exists()

    monkeypatch.undo()
    retry = post_event(body)
    assert retry.status_code == 200 and retry.json()["status"] == "PROCESSED"
    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED and event.attempts == 2 and event.error == ""
    assert Store.objects.filter(venue_id="ven_1").exists()


def test_handler_failure_rolls_back_every_write_it_made(post_event, monkeypatch):
    original = webhooks.HANDLERS["store.connected"]

    def half_done(event, data):
        original(event, data)  # the store is written...
        raise RuntimeError("then the handler breaks")

    monkeypatch.setitem(webhooks.HANDLERS, "store.connected", half_done)
    assert post_event(store_connected()).status_code == 500
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts, event.processed_at) == (WebhookEvent.Status.FAILED, 1, None)
    assert not Store.objects.exists()


def test_a_retry_that_fails_again_counts_the_attempt(post_event, monkeypatch):
    def boom(event, data):
        raise RuntimeError(f"try {event.event_id}")

    monkeypatch.setitem(webhooks.HANDLERS, "store.connected", boom)
    body = store_connected()
    assert [post_event(body).status_code for _ in range(3)] == [500, 500, 500]
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts) == (WebhookEvent.Status.FAILED, 3)


def test_handler_reason_records_ignored_with_it(post_event):
    resp = post_event(envelope("store.paused", {"reason": "busy"}, venue_id="ven_nobody"))
    assert resp.status_code == 200 and resp.json()["status"] == "IGNORED"
    event = WebhookEvent.objects.get()
    assert (event.status, event.status_reason, event.attempts) == ("IGNORED", "unknown venue", 1)
    assert event.processed_at is not None


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_copy_waiting_on_a_failing_first_copy_applies_the_event(live_server, monkeypatch):
    import requests

    from integration.link import signatures

    original = webhooks.HANDLERS["store.connected"]
    calls = []
    first_in_handler = threading.Event()

    def first_call_fails(event, data):
        calls.append(event.event_id)
        if len(calls) == 1:
            first_in_handler.set()
            wait_until_blocked()  # the second copy is now waiting on this one's INSERT
            raise RuntimeError("first copy breaks")
        return original(event, data)

    monkeypatch.setitem(webhooks.HANDLERS, "store.connected", first_call_fails)
    raw = json.dumps(store_connected()).encode()
    statuses = []

    def send():
        resp = requests.post(
            f"{live_server.url}/link/webhooks/",
            data=raw,
            timeout=10,
            headers={"Content-Type": "application/json", "Link-Signature": signatures.sign(raw, SECRET)},
        )
        statuses.append(resp.status_code)

    first = threading.Thread(target=send)
    first.start()
    assert first_in_handler.wait(10)
    second = threading.Thread(target=send)
    second.start()
    first.join()
    second.join()
    assert len(calls) == 2
    # The first copy's failure record finds the event applied by the second: its answer is the truth, 200.
    assert statuses == [200, 200]
    event = WebhookEvent.objects.get()
    assert (event.status, event.attempts, event.error) == (WebhookEvent.Status.PROCESSED, 1, "")
    assert Store.objects.filter(venue_id="ven_1").count() == 1


def test_replay_of_stored_data_that_no_longer_validates_fails_and_names_the_field(post_event):
    body = store_connected()
    assert post_event(body).status_code == 200
    event = WebhookEvent.objects.get()
    body["data"]["timezone"] = "Mars/Olympus"
    WebhookEvent.objects.filter(pk=event.pk).update(body=json.dumps(body))

    outcome = webhooks.webhook_replay(event, force=True)
    assert outcome.failed
    assert outcome.event.error.startswith("PayloadError: The data of a store.connected event is malformed.")
    assert "timezone" in outcome.event.error
    assert Store.objects.get(venue_id="ven_1").timezone == "America/New_York"


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_copies_apply_once(live_server, monkeypatch):
    import requests

    from integration.link import signatures

    applied = []
    original = webhooks.HANDLERS["store.connected"]

    def counting(event, data):
        applied.append(event.event_id)
        wait_until_blocked(waiters=9)  # every other copy waits on this one's INSERT
        return original(event, data)

    monkeypatch.setitem(webhooks.HANDLERS, "store.connected", counting)
    raw = json.dumps(store_connected()).encode()
    barrier = threading.Barrier(10)
    statuses = []

    def send():
        header = signatures.sign(raw, SECRET)
        barrier.wait()
        resp = requests.post(
            f"{live_server.url}/link/webhooks/",
            data=raw,
            timeout=10,
            headers={"Content-Type": "application/json", "Link-Signature": header},
        )
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=send) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 10
    assert len(applied) == 1
    assert WebhookEvent.objects.count() == 1 and Store.objects.count() == 1
    assert connection.vendor == "postgresql"

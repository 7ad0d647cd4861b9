"""Issue 11 rows 7 and 8: hostile webhook requests answer 4xx with the usual error body and change nothing."""

import json

import pytest

from integration.models import Store, WebhookEvent
from tests.conftest import SECRET, envelope, store_connected

pytestmark = pytest.mark.django_db


def assert_refused(resp, status: int, code: str):
    assert resp.status_code == status, resp.content
    error = resp.json()["error"]
    assert error["code"] == code and error["message"]
    assert not WebhookEvent.objects.exists() and not Store.objects.exists()


@pytest.mark.parametrize("header", ["t=" + "9" * 400 + ",v1=00", "t=\u00b2,v1=00", "t=1e9,v1=00", "t=-5,v1=00"])
def test_malformed_signature_timestamp_is_401(post_event, header, caplog):
    assert_refused(post_event(store_connected(), header=header), 401, "signature_malformed")
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.parametrize(
    ("event_type", "data", "field"),
    [
        ("store.disconnected", {"reason": "x" * 501}, "reason"),
        ("store.paused", {"reason": "x" * 501}, "reason"),
        ("order.rejected", {"external_order_id": "o1", "reason": "x" * 501}, "reason"),
        ("order.cancelled", {"external_order_id": "o1", "reason": "x" * 501}, "reason"),
        ("menu.published", {"menu_id": "m", "version": 2**31, "menu_url": "http://link.test/m"}, "version"),
        ("order.confirmed", {"external_order_id": "o1", "prep_time_minutes": 2**31}, "prep_time_minutes"),
        ("order.confirmed", {"external_order_id": "o1", "prep_time_minutes": 10**400}, "prep_time_minutes"),
    ],
    ids=["disconnect-reason", "pause-reason", "reject-reason", "cancel-reason", "version", "prep", "prep-huge"],
)
def test_values_the_columns_cannot_hold_are_400_naming_the_field(post_event, event_type, data, field):
    resp = post_event(envelope(event_type, data))
    assert_refused(resp, 400, "invalid_event_data")
    assert field in resp.json()["error"]["details"]


def test_json_nested_deeper_than_the_parser_allows_is_400(post_event):
    deep = "[" * 100_000 + "]" * 100_000
    raw = json.dumps(store_connected()).replace('"address": {', f'"deep": {deep}, "address": {{').encode()
    assert_refused(post_event(None, raw=raw), 400, "malformed_json")


@pytest.mark.parametrize("depth", [1000, 100])
def test_json_nested_deep_is_400(post_event, depth):
    nested = '{"n": ' * depth + "{}" + "}" * depth
    raw = json.dumps(store_connected()).replace('"address": {', f'"extra": {nested}, "address": {{').encode()
    assert_refused(post_event(None, raw=raw), 400, "malformed_json")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-le"])
def test_bodies_not_in_utf8_are_400(post_event, encoding):
    raw = json.dumps(store_connected()).encode(encoding)
    assert_refused(post_event(None, raw=raw), 400, "malformed_json")


@pytest.mark.parametrize(
    "event_type", ["store.connected", "store.disconnected", "store.paused", "store.resumed", "menu.published"]
)
def test_store_and_menu_events_need_a_venue_id(post_event, event_type):
    body = store_connected(venue_id="")
    body["type"] = event_type
    if event_type == "menu.published":
        body["data"] = {"menu_id": "m", "version": 1, "menu_url": "http://link.test/m"}
    resp = post_event(body)
    assert_refused(resp, 400, "invalid_envelope")
    assert "venue_id" in resp.json()["error"]["details"]


def test_signed_with_the_right_secret_still_applies(post_event):
    assert post_event(store_connected(), secrets=(SECRET,)).status_code == 200

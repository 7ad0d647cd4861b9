"""Issue 11 row 6: a menu body that cannot be read is an invalid menu (recorded, visible, not retried), and
the whole download has one deadline however slowly the host drips bytes."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses as responses_lib

from integration.models import CallAttempt, Menu, MenuItem, OutboundCall, WebhookEvent
from integration.selectors.attention import attention_counts
from integration.services.menus.ingest import INVALID, menu_ingest
from integration.services.outbox import circuit
from integration.services.outbox.calls import call_deliver
from tests.api.test_menu_events import MENU_URL, deliver_all, fetches, published, store  # noqa: F401 (fixture)
from tests.api.test_stores_api import api  # noqa: F401 (fixture)
from tests.menus import build_menu, publish_menu

pytestmark = pytest.mark.django_db


def test_a_body_nested_5000_deep_is_recorded_and_not_retried(store, post_event, mocked_link):  # noqa: F811
    publish_menu(store, items=2, version=1)
    mocked_link.add(responses_lib.GET, MENU_URL.format(2), body="[" * 5000 + "]" * 5000)
    post_event(published(2))
    call = fetches().get()
    call_deliver(call.pk)
    call.refresh_from_db()
    assert (call.status, call.attempts) == (OutboundCall.Status.FAILED, 1)
    attempt = CallAttempt.objects.get(call=call)
    assert attempt.outcome == CallAttempt.Outcome.PERMANENT and "nests too deep" in attempt.error
    menu = Menu.objects.get(store=store)
    assert (menu.version, menu.state) == (1, "PUBLISHED") and "nests too deep" in menu.last_error


def test_a_parsed_document_too_deep_to_hash_is_an_invalid_menu(store):  # noqa: F811
    publish_menu(store, items=2, version=1)
    doc = build_menu(items=2, version=2)
    nested = {}
    for _ in range(1000):
        nested = {"n": nested}
    doc["extra"] = nested
    result = menu_ingest(store, doc)
    assert result.outcome == INVALID and "nests too deep" in result.message
    assert "nests too deep" in Menu.objects.get(store=store).last_error


class _Drip(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = json.dumps({"access_token": "tok", "token_type": "Bearer", "expires_in": 3600}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(100):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_a_host_dripping_bytes_meets_one_deadline_and_the_attempt_is_recorded(store, post_event, settings):  # noqa: F811
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        settings.LINK_BASE_URL = base
        settings.LINK_MENU_HOSTS = [f"127.0.0.1:{server.server_port}"]
        settings.LINK_RESPONSE_DEADLINE = 1
        settings.LINK_RETRY_BASE = settings.LINK_RETRY_MAX = 60  # the next try is for the sweep
        post_event(published(2, url=f"{base}/menus/men_1/v2.json"))
        call = fetches().get()
        started = time.monotonic()
        call_deliver(call.pk, inline_wait=0)
        took = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert took < 4
    attempt = CallAttempt.objects.get(call=call)
    assert attempt.outcome == CallAttempt.Outcome.RETRIABLE and "to arrive in full" in attempt.error
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.PENDING and "to arrive in full" in call.last_error


# --- Issue 23: menus that validate but cannot be stored (H6), a menu_url with control characters (H7),
# image URLs that are not http(s) (H12).


def _fetch_v2(store, post_event, mocked_link, doc):  # noqa: F811
    """Publish v1, announce v2 and deliver its fetch once; the fetch call after its one try."""
    publish_menu(store, items=2, version=1)
    mocked_link.add(responses_lib.GET, MENU_URL.format(2), body=json.dumps(doc), content_type="application/json")
    post_event(published(2))
    call = fetches().get()
    call_deliver(call.pk, inline_wait=0)
    call.refresh_from_db()
    return call


def _assert_refused_once_and_shown(store, call, needle: str) -> None:  # noqa: F811
    assert (call.status, call.attempts) == (OutboundCall.Status.FAILED, 1), call.last_error
    assert needle in call.last_error
    assert CallAttempt.objects.get(call=call).outcome == CallAttempt.Outcome.SUCCESS  # Link answered; we refused
    assert "not_stored" in call.response or call.response["menu_id"] == "men_1"
    menu = Menu.objects.get(store=store)
    assert (menu.version, menu.state, menu.item_count) == (1, "PUBLISHED", 2)
    assert "Menu refused" in menu.last_error and needle in menu.last_error
    assert attention_counts([Menu])[(Menu, "failed")] == 1  # the dashboard's "Menus that failed" card
    assert not fetches().filter(status=OutboundCall.Status.PENDING).exists()  # never retried


@pytest.mark.parametrize(
    ("where", "value", "needle"),
    [
        ("item", "Cheese\x00burger", "name contains a NUL character"),
        ("category", "Bur\x00gers", "name contains a NUL character"),
        ("item_description", "tasty\x00", "description contains a NUL character"),
        ("item", "Cheese\ud800burger", "name contains a lone surrogate (U+D800)"),
        ("modifier", "Ba\udfffcon", "name contains a lone surrogate (U+DFFF)"),
        ("item_id", "itm_\x00", "id contains a NUL character"),
    ],
    ids=["nul-item-name", "nul-category-name", "nul-description", "surrogate-item", "surrogate-modifier", "nul-id"],
)
def test_h6_menu_with_nul_or_lone_surrogate_is_refused_once_and_shown(
    store,  # noqa: F811
    post_event,
    mocked_link,
    where,
    value,
    needle,
):
    doc = build_menu(items=3, version=2)
    if where == "item":
        doc["items"][0]["name"] = value
    elif where == "item_description":
        doc["items"][0]["description"] = value
    elif where == "category":
        doc["categories"][0]["name"] = value
    elif where == "modifier":
        doc["modifiers"][0]["name"] = value
    else:
        doc["items"][0]["id"] = value
        doc["categories"][0]["item_ids"][0] = value
    call = _fetch_v2(store, post_event, mocked_link, doc)
    _assert_refused_once_and_shown(store, call, needle)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda doc: doc["categories"][0].update(sort_order=2**40), f"sort_order {2**40} is over 2147483647"),
        (lambda doc: doc["categories"][0].update(sort_order=-(2**40)), f"sort_order {-(2**40)} is below -2147483648"),
        (lambda doc: doc.update(version=2**40), f"version {2**40} is over 2147483647"),
    ],
    ids=["sort-order-2^40", "sort-order-minus-2^40", "version-2^40"],
)
def test_h6_menu_with_integers_out_of_postgresql_range_is_refused_once_and_shown(
    store,  # noqa: F811
    post_event,
    mocked_link,
    change,
    needle,
):
    doc = build_menu(items=3, version=2)
    change(doc)
    call = _fetch_v2(store, post_event, mocked_link, doc)
    _assert_refused_once_and_shown(store, call, needle)


def test_h6_a_refused_document_is_not_a_transport_failure_for_links_circuit(store, post_event, mocked_link):  # noqa: F811
    doc = build_menu(items=3, version=2)
    doc["items"][0]["name"] = "Cheese\x00burger"
    _fetch_v2(store, post_event, mocked_link, doc)
    status = circuit.circuit_status("link.test")
    assert (status.state, status.failures) == (circuit.CircuitMode.CLOSED, 0)


@pytest.mark.parametrize(
    "url",
    [
        "https://link.test/menus/men_1/v\t2.json",
        "https://link.test/menus/men_1/\nv2.json",
        "https://link.te\rst/menus/men_1/v2.json",
        "https://link.test/menus/men 1/v2.json",
        "https://link.test/menus/men_1/v2.json\x0b?x",
    ],
    ids=["tab", "newline", "carriage-return-in-host", "space", "vertical-tab"],
)
def test_h7_menu_url_with_a_control_character_is_refused_up_front_and_not_counted_against_link(
    store,  # noqa: F811
    post_event,
    mocked_link,
    url,
):
    publish_menu(store, items=2, version=1)
    resp = post_event(published(2, url=url))
    assert resp.status_code == 200
    event = WebhookEvent.objects.get(event_id=resp.json()["id"])
    assert event.status == "IGNORED" and "menu_url refused, nothing fetched" in event.status_reason
    assert "whitespace or a control character" in event.status_reason
    menu = Menu.objects.get(store=store)
    assert "menu_url refused" in menu.last_error and (menu.version, menu.state) == (1, "PUBLISHED")
    assert not fetches().exists()
    deliver_all()
    assert not [c for c in mocked_link.calls if "/menus/" in c.request.url]
    status = circuit.circuit_status("link.test")
    assert (status.state, status.failures) == (circuit.CircuitMode.CLOSED, 0)


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        " JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/x.png",
        "https:///no-host.png",
        "java\tscript:alert(1)",
    ],
    ids=["javascript", "javascript-mixed-case", "data", "vbscript", "scheme-relative", "no-host", "tab-split"],
)
def test_h12_non_http_image_url_is_dropped_at_ingest_and_the_item_kept(store, api, bad):  # noqa: F811
    doc = build_menu(items=2, version=1)
    doc["items"][0]["image_url"] = bad
    doc["items"][1]["image_url"] = "https://img.link.test/itm_2.png"
    result = menu_ingest(store, doc)
    assert result.outcome == "ingested", result.message
    assert "image_url" in result.message and "dropped" in result.message
    assert dict(MenuItem.objects.values_list("link_id", "image_url")) == {
        "itm_1": "",
        "itm_2": "https://img.link.test/itm_2.png",
    }
    served = api.get(f"/api/v1/stores/{store.external_store_id}/menu/").json()
    images = {i["id"]: i["image_url"] for c in served["categories"] for i in c["items"]}
    assert images == {"itm_1": None, "itm_2": "https://img.link.test/itm_2.png"}
    assert Menu.objects.get(store=store).last_error == ""  # the menu is fine; one field was not


def test_h12_a_stored_non_http_image_url_is_not_served(store, api):  # noqa: F811
    publish_menu(store, items=2, version=1)
    MenuItem.objects.filter(link_id="itm_1").update(image_url="javascript:alert(1)")  # stored before the fix
    served = api.get(f"/api/v1/stores/{store.external_store_id}/menu/").json()
    images = {i["id"]: i["image_url"] for c in served["categories"] for i in c["items"]}
    assert images["itm_1"] is None

"""Link's menu events through the webhook endpoint, and the fetch_menu calls they create."""

import dataclasses
import json

import pytest
import responses as responses_lib
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integration.models import Menu, MenuItem, Modifier, OutboundCall, WebhookEvent
from integration.services.outbox import kinds as call_kinds
from integration.services.outbox.calls import call_deliver
from tests.conftest import envelope, store_connected
from tests.fake_http import JsonHandler, serving
from tests.menus import build_menu, find, publish_menu, with_changes

pytestmark = pytest.mark.django_db

MENU_URL = "https://link.test/menus/men_1/v{}.json"


@pytest.fixture
def store(post_event):
    assert post_event(store_connected("ven_1", "sf_1")).status_code == 200
    from integration.models import Store

    return Store.objects.get(venue_id="ven_1")


def published(version=1, *, menu_id="men_1", url=None, **extra):
    return envelope(
        "menu.published",
        {"menu_id": menu_id, "version": version, "menu_url": url or MENU_URL.format(version)},
        **extra,
    )


def fetches():
    return OutboundCall.objects.filter(kind=OutboundCall.Kind.FETCH_MENU)


def deliver_all() -> None:
    for call in fetches().filter(status=OutboundCall.Status.PENDING):
        call_deliver(call.pk)


def menu_gets(mocked_link) -> list[str]:
    return [c.request.url for c in mocked_link.calls if "/menus/" in c.request.url or c.request.url.endswith("/menu")]


def test_published_menu_is_fetched_with_the_token_and_ingested(store, post_event, mocked_link):
    doc = build_menu(
        items=4, groups=2, modifiers=4, version=7, hours=[{"day": "MON", "open": "10:00", "close": "22:00"}]
    )
    mocked_link.add(responses_lib.GET, MENU_URL.format(7), json=doc)
    resp = post_event(published(7))
    assert resp.status_code == 200 and resp.json()["status"] == "PROCESSED"
    call = fetches().get()
    assert (call.method, call.path, call.store_id, call.status) == ("GET", MENU_URL.format(7), store.pk, "PENDING")
    menu = Menu.objects.get(store=store)
    assert (menu.state, menu.announced_version, menu.version) == ("PENDING", 7, None)

    call_deliver(call.pk)

    call.refresh_from_db()
    assert call.status == "SUCCEEDED"
    sent = [c.request for c in mocked_link.calls if c.request.url == MENU_URL.format(7)]
    assert len(sent) == 1 and sent[0].headers["Authorization"] == "Bearer tok-1"
    menu.refresh_from_db()
    assert (menu.state, menu.version, menu.item_count, menu.last_error) == ("PUBLISHED", 7, 4, "")
    assert menu.hours == [{"day": "MON", "open": "10:00", "close": "22:00"}]
    assert call.call_attempts.get().request_headers["Authorization"] == "***"


def test_menu_url_outside_the_allow_list_is_refused_without_any_request(store, post_event, mocked_link):
    publish_menu(store, items=2, version=1)
    for url in ("https://evil.example/menu.json", "http://link.test/menus/men_1/v2.json", "https://10.0.0.5/menu"):
        resp = post_event(published(2, url=url))
        assert resp.status_code == 200
        event = WebhookEvent.objects.get(event_id=resp.json()["id"])
        assert event.status == "IGNORED" and "menu_url refused, nothing fetched" in event.status_reason
        menu = Menu.objects.get(store=store)
        assert "nothing fetched" in menu.last_error and menu.last_error_at is not None
        assert (menu.version, menu.state) == (1, "PUBLISHED")
    assert "not in LINK_MENU_HOSTS" in WebhookEvent.objects.filter(status="IGNORED").first().status_reason
    assert not fetches().exists()
    assert len(mocked_link.calls) == 0


def test_host_with_port_on_the_allow_list(store, post_event, settings, mocked_link):
    settings.LINK_MENU_HOSTS = ["menus.link.test:8443"]
    assert post_event(published(1, url="https://menus.link.test:8443/m.json")).json()["status"] == "PROCESSED"
    assert post_event(published(2, url="https://menus.link.test/m.json")).json()["status"] == "IGNORED"
    assert list(fetches().values_list("path", flat=True)) == ["https://menus.link.test:8443/m.json"]


def test_oversized_menu_is_refused_and_the_live_menu_stays(store, post_event, mocked_link, monkeypatch):
    publish_menu(store, items=2, version=1)
    capped = dataclasses.replace(call_kinds.CALL_KINDS[OutboundCall.Kind.FETCH_MENU], max_bytes=2000)
    monkeypatch.setitem(call_kinds.CALL_KINDS, OutboundCall.Kind.FETCH_MENU, capped)
    big = build_menu(items=50, version=2)
    assert len(json.dumps(big)) > 2000
    mocked_link.add(responses_lib.GET, MENU_URL.format(2), json=big)
    post_event(published(2))
    deliver_all()
    call = fetches().get()
    assert call.status == "FAILED" and "too_large" in call.last_error
    menu = Menu.objects.get(store=store)
    assert (menu.version, menu.item_count) == (1, 2)
    assert "2000-byte cap" in menu.last_error


def test_fetch_menu_cap_comes_from_settings():
    from django.conf import settings

    assert call_kinds.CALL_KINDS[OutboundCall.Kind.FETCH_MENU].max_bytes == settings.LINK_MENU_MAX_BYTES == 20 * 2**20


def test_unreachable_menu_url_keeps_the_live_menu_and_records_why(store, post_event, mocked_link):
    publish_menu(store, items=2, version=1)
    mocked_link.add(
        responses_lib.GET, MENU_URL.format(2), status=404, json={"error": {"code": "not_found", "message": "gone"}}
    )
    post_event(published(2))
    deliver_all()
    assert fetches().get().status == "FAILED"
    menu = Menu.objects.get(store=store)
    assert (menu.version, menu.state) == (1, "PUBLISHED")
    assert "fetching the menu failed" in menu.last_error and "not_found: gone" in menu.last_error


def test_invalid_menu_fails_the_call_and_keeps_the_live_menu(store, post_event, mocked_link):
    publish_menu(store, items=2, version=1)
    bad = build_menu(items=3, version=2)
    find(bad, "items", "itm_3")["price"] = -1
    mocked_link.add(responses_lib.GET, MENU_URL.format(2), json=bad)
    post_event(published(2))
    deliver_all()
    call = fetches().get()
    assert call.status == "FAILED" and "price -1 is negative" in call.last_error
    menu = Menu.objects.get(store=store)
    assert (menu.version, menu.item_count) == (1, 2) and "v2: Menu refused (1 problem)" in menu.last_error
    # Link fixes it and announces again: fetched again, since no fetch of v2 is pending any more.
    mocked_link.replace(responses_lib.GET, MENU_URL.format(2), json=build_menu(items=3, version=2))
    assert post_event(published(2)).json()["status"] == "PROCESSED"
    deliver_all()
    menu.refresh_from_db()
    assert (menu.version, menu.item_count, menu.last_error) == (2, 3, "")


def test_same_event_twice_fetches_once(store, post_event, mocked_link):
    mocked_link.add(responses_lib.GET, MENU_URL.format(1), json=build_menu(version=1))
    body = published(1)
    assert post_event(body).json()["duplicate"] is False
    assert post_event(body).json()["duplicate"] is True
    deliver_all()
    assert fetches().count() == 1 and len(menu_gets(mocked_link)) == 1


def test_two_events_announcing_the_same_version_fetch_and_ingest_once(store, post_event, mocked_link, monkeypatch):
    from integration.services.menus import rows

    ingests = []
    original = rows.replace_rows
    monkeypatch.setattr(rows, "replace_rows", lambda menu, parsed: ingests.append(1) or original(menu, parsed))
    mocked_link.add(responses_lib.GET, MENU_URL.format(3), json=build_menu(version=3))
    first = post_event(published(3)).json()
    second = post_event(published(3)).json()
    assert first["status"] == "PROCESSED"
    assert second["status"] == "IGNORED"
    assert WebhookEvent.objects.get(event_id=second["id"]).status_reason == "a fetch of v3 is already queued"
    deliver_all()
    third = post_event(published(3)).json()
    assert WebhookEvent.objects.get(event_id=third["id"]).status_reason == "v3 is already live"
    assert fetches().count() == 1 and len(menu_gets(mocked_link)) == 1 and len(ingests) == 1


def test_stale_announcement_is_ignored(store, post_event, mocked_link):
    publish_menu(store, items=2, version=8)
    resp = post_event(published(7)).json()
    assert resp["status"] == "IGNORED"
    assert WebhookEvent.objects.get(event_id=resp["id"]).status_reason == "stale: v7 is older than the live v8"
    assert not fetches().exists()


def test_newer_announcement_supersedes_a_queued_older_fetch(store, post_event, mocked_link):
    mocked_link.add(responses_lib.GET, MENU_URL.format(5), json=build_menu(items=5, version=5))
    post_event(published(4))
    post_event(published(5))
    older, newer = fetches().order_by("pk")
    assert (older.status, older.last_error) == ("SKIPPED", "superseded by v5")
    assert (newer.status, newer.path) == ("PENDING", MENU_URL.format(5))
    assert post_event(published(4)).json()["status"] == "IGNORED"  # v5 is queued
    deliver_all()
    assert Menu.objects.get(store=store).version == 5
    assert menu_gets(mocked_link) == [MENU_URL.format(5)]


def test_stale_fetch_result_is_ignored(store, post_event, mocked_link):
    """Link answers an older document than announced (a cache, say): the newer live one stays."""
    publish_menu(store, items=3, version=8)
    mocked_link.add(responses_lib.GET, MENU_URL.format(9), json=build_menu(items=1, version=7))
    post_event(published(9))
    deliver_all()
    menu = Menu.objects.get(store=store)
    assert (menu.version, menu.item_count, menu.last_error) == (8, 3, "")
    assert fetches().get().status == "SUCCEEDED"


# --- unpublish ---------------------------------------------------------------------------------


def test_unpublish_hides_the_catalog_and_drops_a_pending_fetch(store, post_event, mocked_link):
    publish_menu(store, items=3, version=1)
    post_event(published(2))
    resp = post_event(envelope("menu.unpublished", {"menu_id": "men_1"}, created_at="2026-11-27T12:05:00Z"))
    assert resp.json()["status"] == "PROCESSED"
    menu = Menu.objects.get(store=store)
    assert menu.state == "UNPUBLISHED" and menu.revision == 2
    assert fetches().get().status == "SKIPPED"
    deliver_all()
    assert menu_gets(mocked_link) == []
    again = post_event(envelope("menu.unpublished", {"menu_id": "men_1"}, created_at="2026-11-27T12:06:00Z")).json()
    assert WebhookEvent.objects.get(event_id=again["id"]).status_reason == "already unpublished"


def test_publish_sent_before_an_unpublish_but_arriving_after_is_stale(store, post_event):
    publish_menu(store, items=3, version=1)
    post_event(envelope("menu.unpublished", {"menu_id": "men_1"}, created_at="2026-11-27T12:05:00Z"))
    late = post_event(published(2, created_at="2026-11-27T12:01:00Z")).json()
    assert late["status"] == "IGNORED" and "stale" in WebhookEvent.objects.get(event_id=late["id"]).status_reason
    assert Menu.objects.get(store=store).state == "UNPUBLISHED" and not fetches().exists()


def test_republishing_the_same_content_after_an_unpublish_costs_no_row_work(store, post_event, mocked_link):
    publish_menu(store, items=3, version=1)
    ids = set(MenuItem.objects.values_list("pk", flat=True))
    post_event(envelope("menu.unpublished", {"menu_id": "men_1"}, created_at="2026-11-27T12:05:00Z"))
    mocked_link.add(responses_lib.GET, MENU_URL.format(1), json=build_menu(items=3, version=1))
    assert post_event(published(1, created_at="2026-11-27T12:10:00Z")).json()["status"] == "PROCESSED"
    deliver_all()
    assert Menu.objects.get(store=store).state == "PUBLISHED"
    assert set(MenuItem.objects.values_list("pk", flat=True)) == ids


def test_unpublish_of_another_menu_id_is_ignored(store, post_event):
    publish_menu(store, items=3, version=1)
    resp = post_event(envelope("menu.unpublished", {"menu_id": "men_other"})).json()
    assert resp["status"] == "IGNORED"
    assert Menu.objects.get(store=store).state == "PUBLISHED"


# --- availability ------------------------------------------------------------------------------


def availability(items=(), modifiers=(), menu_id="men_1", **extra):
    return envelope(
        "menu.availability_changed",
        {
            "menu_id": menu_id,
            "items": [{"id": i, "available": a} for i, a in items],
            "modifiers": [{"id": m, "available": a} for m, a in modifiers],
        },
        **extra,
    )


def test_availability_flips_listed_entries_in_one_update_per_list(store, post_event):
    publish_menu(store, items=300, groups=10, modifiers=40, version=4)
    MenuItem.objects.filter(link_id="itm_3").update(available=False)
    items = [(f"itm_{n}", False) for n in range(10, 210)] + [("itm_3", True)]
    mods = [("mod_1", False), ("mod_2", False)]
    with CaptureQueriesContext(connection) as ctx:
        resp = post_event(availability(items, mods))
    assert resp.json()["status"] == "PROCESSED"
    updates = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]
    assert sum('UPDATE "integration_menuitem"' in sql for sql in updates) == 1
    assert sum('UPDATE "integration_modifier"' in sql for sql in updates) == 1
    off = set(MenuItem.objects.filter(available=False).values_list("link_id", flat=True))
    assert off == {f"itm_{n}" for n in range(10, 210)}
    assert set(Modifier.objects.filter(available=False).values_list("link_id", flat=True)) == {"mod_1", "mod_2"}
    menu = Menu.objects.get(store=store)
    assert menu.version == 4 and menu.revision == 2


def test_availability_older_than_the_live_version_is_ignored(store, post_event):
    publish_menu(store, items=3, version=2)  # published_at 09:00
    resp = post_event(availability([("itm_1", False)], created_at="2026-11-27T08:59:00Z")).json()
    assert resp["status"] == "IGNORED" and "stale" in WebhookEvent.objects.get(event_id=resp["id"]).status_reason
    assert MenuItem.objects.get(link_id="itm_1").available is True


def test_availability_for_unknown_ids_or_another_menu_is_ignored(store, post_event):
    publish_menu(store, items=3)
    assert post_event(availability([("itm_404", False)])).json()["status"] == "IGNORED"
    assert post_event(availability([("itm_1", False)], menu_id="men_x")).json()["status"] == "IGNORED"
    assert not MenuItem.objects.filter(available=False).exists()


def test_unchanged_refetch_keeps_availability_set_by_events(store, post_event, mocked_link):
    """Events are newer than the document they flip; the same document again does not undo them."""
    doc = build_menu(items=3, version=1)
    publish_menu(store, items=3, version=1)
    post_event(availability([("itm_2", False)]))
    mocked_link.add(responses_lib.GET, "http://link.test/v2/venues/ven_1/menu", json=with_changes(doc))
    from integration.services.menus.fetching import menu_refresh

    assert menu_refresh(store).outcome == "unchanged"
    assert MenuItem.objects.get(link_id="itm_2").available is False


# --- against a real HTTP server ----------------------------------------------------------------


class _FakeLink(JsonHandler):
    menu: bytes = b""
    seen: list = []

    def do_POST(self):
        self.send_json(200, {"access_token": "tok-real", "token_type": "Bearer", "expires_in": 3600})

    def do_GET(self):
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        self.send_json(200, raw=self.menu)


def test_fetch_menu_through_call_deliver_against_a_real_http_server(store, post_event, settings):
    with serving(_FakeLink) as base:
        settings.LINK_BASE_URL = base
        settings.LINK_MENU_HOSTS = [base.removeprefix("http://")]
        _FakeLink.menu = json.dumps(build_menu(items=120, groups=12, modifiers=60, depth=2, version=3)).encode()
        _FakeLink.seen = []
        post_event(published(3, url=f"{base}/menus/men_1/v3.json"))
        deliver_all()
    assert _FakeLink.seen == [("/menus/men_1/v3.json", "Bearer tok-real")]
    menu = Menu.objects.get(store=store)
    assert (menu.state, menu.version, menu.item_count, menu.modifier_count) == ("PUBLISHED", 3, 120, 60)


def test_newer_version_at_the_same_url_replaces_the_queued_fetch(store, post_event, mocked_link):
    url = "https://link.test/menus/men_1/current.json"
    post_event(published(1, url=url))
    post_event(published(2, url=url))
    assert list(fetches().order_by("pk").values_list("status", flat=True)) == ["SKIPPED", "PENDING"]
    mocked_link.add(responses_lib.GET, url, json=build_menu(items=2, version=2))
    deliver_all()
    assert Menu.objects.get(store=store).version == 2 and len(menu_gets(mocked_link)) == 1


def test_published_before_the_store_connected_fails_and_applies_on_retry(post_event):
    from tests.conftest import envelope, store_connected

    published = envelope(
        "menu.published",
        {"menu_id": "men_early", "version": 1, "menu_url": "https://link.test/menus/men_early/v1"},
        venue_id="ven_late",
    )
    first = post_event(published)
    assert first.status_code == 500
    event = WebhookEvent.objects.get(event_id=published["id"])
    assert event.status == WebhookEvent.Status.FAILED and "has not connected yet" in event.error
    post_event(store_connected("ven_late", "sf_late"))
    retry = post_event(published)
    event.refresh_from_db()
    assert retry.status_code == 200 and retry.json()["status"] == "PROCESSED", event.status_reason
    assert OutboundCall.objects.filter(kind="fetch_menu", store__venue_id="ven_late").count() == 1

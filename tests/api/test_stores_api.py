"""``/api/v1/stores/``: stores, whether they accept orders and why not, and the catalog."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration.models import Menu, MenuItem, Store
from integration.selectors.stores import store_accepting
from tests.conftest import envelope
from tests.factories import StoreFactory
from tests.menus import every_day, publish_menu

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    user = get_user_model().objects.create(username="checkout-service")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def store():
    return StoreFactory(venue_id="ven_1", external_store_id="sf_1", name="Burger Barn", timezone="America/New_York")


def test_token_is_required(client, store):
    resp = client.get("/api/v1/stores/")
    assert resp.status_code in (401, 403)
    assert "code" in resp.json()["error"]


def test_store_detail_by_storefront_or_venue_id(api, store):
    publish_menu(store, items=3, version=4)
    for identifier in ("sf_1", "ven_1"):
        body = api.get(f"/api/v1/stores/{identifier}/").json()
        assert body["id"] == "sf_1" and body["venue_id"] == "ven_1" and body["name"] == "Burger Barn"
        assert body["accepting_orders"] is True and body["not_accepting_reason"] is None
        assert body["menu"] == {
            "menu_id": "men_1",
            "version": 4,
            "state": "PUBLISHED",
            "published_at": "2026-11-27T09:00:00Z",
            "item_count": 3,
        }


def test_storefront_id_wins_over_another_stores_venue_id(api):
    StoreFactory(venue_id="x1", external_store_id="sf_a", name="A")
    StoreFactory(venue_id="ven_b", external_store_id="x1", name="B")
    assert api.get("/api/v1/stores/x1/").json()["name"] == "B"


def test_unknown_store_is_404_with_the_error_shape(api):
    resp = api.get("/api/v1/stores/nope/")
    assert resp.status_code == 404
    assert resp.json()["error"] == {
        "code": "store_not_found",
        "message": "No store 'nope' (give an MP storefront id or a Link venue id).",
        "details": {},
    }
    assert api.get("/api/v1/stores/nope/menu/").json()["error"]["code"] == "store_not_found"


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda s: Store.objects.filter(pk=s.pk).update(state="DISCONNECTED"), "disconnected from Link"),
        (lambda s: Store.objects.filter(pk=s.pk).update(state="PAUSED", pause_reason="rush"), "paused: rush"),
        (lambda s: Store.objects.filter(pk=s.pk).update(external_store_id=None), "not mapped to an MP storefront"),
        (lambda s: Menu.objects.filter(store=s).update(state="UNPUBLISHED"), "no published menu"),
        (lambda s: Menu.objects.filter(store=s).delete(), "no published menu"),
        (
            lambda s: Menu.objects.filter(store=s).update(hours=[{"day": "MON", "open": "03:00", "close": "03:01"}]),
            "closed now (outside its opening hours, America/New_York)",
        ),
    ],
    ids=["disconnected", "paused", "unmapped", "unpublished", "no-menu", "closed"],
)
def test_why_a_store_does_not_accept_orders(api, store, setup, reason):
    publish_menu(store, items=2)
    setup(store)
    body = api.get("/api/v1/stores/ven_1/").json()
    assert (body["accepting_orders"], body["not_accepting_reason"]) == (False, reason)


def test_store_list_is_paginated_and_has_no_query_per_store(api):
    for n in range(3):
        publish_menu(StoreFactory(venue_id=f"ven_{n}", external_store_id=f"sf_{n}"), items=2, hours=every_day())
    with CaptureQueriesContext(connection) as few:
        first = api.get("/api/v1/stores/")
    for n in range(3, 30):
        publish_menu(StoreFactory(venue_id=f"ven_{n}", external_store_id=f"sf_{n}"), items=2)
    StoreFactory(venue_id="ven_nomenu", external_store_id="sf_nomenu")
    with CaptureQueriesContext(connection) as many:
        resp = api.get("/api/v1/stores/?limit=50")
    assert len(few.captured_queries) == len(many.captured_queries)
    body = resp.json()
    assert body["count"] == 31 and len(body["results"]) == 31
    assert first.json()["results"][0]["hours"] == every_day()
    no_menu = next(s for s in body["results"] if s["venue_id"] == "ven_nomenu")
    assert no_menu["menu"] is None and no_menu["not_accepting_reason"] == "no published menu"


# --- the catalog -------------------------------------------------------------------------------


def test_catalog_is_nested_categories_items_and_groups_modifiers(api, store):
    publish_menu(
        store, items=4, groups=3, modifiers=6, depth=2, categories=2, version=7, hours=every_day("10:00", "22:00")
    )
    resp = api.get("/api/v1/stores/sf_1/menu/")
    assert resp.status_code == 200
    body = resp.json()
    assert (body["store_id"], body["venue_id"], body["menu_id"], body["version"], body["currency"]) == (
        "sf_1",
        "ven_1",
        "men_1",
        7,
        "USD",
    )
    assert body["published_at"] == "2026-11-27T09:00:00Z" and body["hours"] == every_day("10:00", "22:00")
    assert [c["id"] for c in body["categories"]] == ["cat_1", "cat_2"]
    assert [i["id"] for i in body["categories"][0]["items"]] == ["itm_1", "itm_2"]
    item = body["categories"][0]["items"][0]
    assert item == {
        "id": "itm_1",
        "name": "Item 1",
        "description": "Description of item 1",
        "link_name": "Item 1",
        "link_description": "Description of item 1",
        "price": 899,
        "link_price": 899,
        "available": True,
        "snoozed_until": None,
        "image_url": None,
        "tax_rate": "0.0875",
        "modifier_group_ids": ["mg_1", "mg_2"],
    }
    groups = {g["id"]: g for g in body["modifier_groups"]}
    assert set(groups) == {"mg_1", "mg_2", "mg_3"}
    assert [m["id"] for m in groups["mg_1"]["modifiers"]] == ["mod_1", "mod_2"]
    assert groups["mg_1"]["modifiers"][0]["modifier_group_ids"] == ["mg_3"]  # nesting, by reference
    assert groups["mg_1"]["modifiers"][0] == {
        "id": "mod_1",
        "name": "Modifier 1",
        "price": 150,
        "link_price": 150,
        "available": True,
        "snoozed_until": None,
        "modifier_group_ids": ["mg_3"],
    }
    assert (groups["mg_3"]["min_selections"], groups["mg_3"]["max_selections"]) == (0, 2)


def test_catalog_etag_gives_304_until_something_changes(api, store, post_event):
    publish_menu(store, items=3, version=1)
    url = "/api/v1/stores/sf_1/menu/"
    first = api.get(url)
    etag = first["ETag"]
    assert etag and first["Cache-Control"] == "private, no-cache"
    not_modified = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304 and not_modified.content == b"" and not_modified["ETag"] == etag
    assert api.get(url, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert api.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200

    post_event(
        envelope("menu.availability_changed", {"menu_id": "men_1", "items": [{"id": "itm_1", "available": False}]})
    )
    changed = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert changed.json()["categories"][0]["items"][0]["available"] is False

    publish_menu(store, items=5, version=2)
    latest = api.get(url, HTTP_IF_NONE_MATCH=changed["ETag"])
    assert latest.status_code == 200

    Store.objects.filter(pk=store.pk).update(external_store_id="sf_renamed")  # the body names it
    renamed = api.get("/api/v1/stores/sf_renamed/menu/", HTTP_IF_NONE_MATCH=latest["ETag"])
    assert renamed.status_code == 200 and renamed.json()["store_id"] == "sf_renamed"


def test_unpublished_menu_is_not_served(api, store, post_event):
    publish_menu(store, items=3)
    assert api.get("/api/v1/stores/sf_1/menu/").status_code == 200
    post_event(envelope("menu.unpublished", {"menu_id": "men_1"}))
    resp = api.get("/api/v1/stores/sf_1/menu/")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "menu_not_published"
    body = api.get("/api/v1/stores/sf_1/").json()
    assert body["accepting_orders"] is False and body["menu"]["state"] == "UNPUBLISHED" and body["hours"] == []


def test_store_without_a_menu_is_404_menu_not_published(api, store):
    resp = api.get("/api/v1/stores/sf_1/menu/")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "menu_not_published"


def _catalog_queries(api, items: int) -> tuple[int, dict]:
    store = StoreFactory()
    publish_menu(store, items=items, groups=max(2, items // 10), modifiers=items * 2, depth=2)
    with CaptureQueriesContext(connection) as ctx:
        resp = api.get(f"/api/v1/stores/{store.external_store_id}/menu/")
    assert resp.status_code == 200
    return len(ctx.captured_queries), resp.json()


def test_catalog_query_count_does_not_grow_with_the_menu(api):
    small, small_body = _catalog_queries(api, 100)
    assert sum(len(c["items"]) for c in small_body["categories"]) == 100
    large, large_body = _catalog_queries(api, 2000)
    assert small == large, (small, large)
    assert sum(len(c["items"]) for c in large_body["categories"]) == 2000
    assert sum(len(g["modifiers"]) for g in large_body["modifier_groups"]) == 4000


def test_schema_documents_the_store_endpoints(api):
    resp = api.get("/api/schema/?format=json")
    assert resp.status_code == 200
    schema = resp.json()
    paths = schema["paths"]
    assert {"/api/v1/stores/", "/api/v1/stores/{store_id}/", "/api/v1/stores/{store_id}/menu/"} <= set(paths)
    menu_get = paths["/api/v1/stores/{store_id}/menu/"]["get"]
    assert {"200", "304", "404"} <= set(menu_get["responses"])
    assert any(p["name"] == "If-None-Match" for p in menu_get["parameters"])
    catalog = schema["components"]["schemas"]["Catalog"]
    assert {"categories", "modifier_groups", "version"} <= set(catalog["properties"])


# --- opening hours -------------------------------------------------------------------------------

# 2026-11-27 is a Friday; New York is UTC-5 then.
FRI_NY = {"09:59": "2026-11-27T14:59:00Z", "10:00": "2026-11-27T15:00:00Z", "21:59": "2026-11-28T02:59:00Z"}


def at(utc: str) -> datetime:
    return datetime.fromisoformat(utc.replace("Z", "+00:00")).astimezone(UTC)


def accepting_at(store, hours, utc: str) -> bool:
    Menu.objects.filter(store=store).update(hours=hours)
    store = Store.objects.select_related("menu").get(pk=store.pk)
    return store_accepting(store, at(utc))[0]


@pytest.mark.parametrize(
    ("hours", "utc", "open_"),
    [
        ([], "2026-11-27T07:00:00Z", True),  # no hours: always open
        ([{"day": "FRI", "open": "10:00", "close": "22:00"}], FRI_NY["09:59"], False),
        ([{"day": "FRI", "open": "10:00", "close": "22:00"}], FRI_NY["10:00"], True),
        ([{"day": "FRI", "open": "10:00", "close": "22:00"}], FRI_NY["21:59"], True),
        ([{"day": "FRI", "open": "10:00", "close": "22:00"}], "2026-11-28T03:00:00Z", False),  # 22:00: closed
        ([{"day": "THU", "open": "10:00", "close": "22:00"}], FRI_NY["10:00"], False),  # other day
        # past midnight: Friday 18:00 to Saturday 02:00 local
        ([{"day": "FRI", "open": "18:00", "close": "02:00"}], "2026-11-28T06:30:00Z", True),  # Sat 01:30
        ([{"day": "FRI", "open": "18:00", "close": "02:00"}], "2026-11-28T07:00:00Z", False),  # Sat 02:00
        ([{"day": "THU", "open": "18:00", "close": "02:00"}], "2026-11-27T06:59:00Z", True),  # Fri 01:59
        ([{"day": "SAT", "open": "18:00", "close": "02:00"}], "2026-11-28T06:30:00Z", False),  # Sat 01:30, wrong day
        ([{"day": "SUN", "open": "22:00", "close": "03:00"}], "2026-11-23T06:00:00Z", True),  # Mon 01:00 (week wraps)
        ([{"day": "FRI", "open": "00:00", "close": "24:00"}], "2026-11-27T05:00:00Z", True),  # Fri 00:00
        ([{"day": "FRI", "open": "00:00", "close": "00:00"}], "2026-11-28T04:59:00Z", True),  # whole day
        # split shift
        (
            [{"day": "FRI", "open": "11:00", "close": "14:00"}, {"day": "FRI", "open": "17:00", "close": "22:00"}],
            "2026-11-27T20:00:00Z",  # 15:00 local
            False,
        ),
        (
            [{"day": "FRI", "open": "11:00", "close": "14:00"}, {"day": "FRI", "open": "17:00", "close": "22:00"}],
            "2026-11-27T22:30:00Z",  # 17:30 local
            True,
        ),
    ],
)
def test_opening_hours_in_the_stores_own_zone(store, hours, utc, open_):
    publish_menu(store, items=1)
    assert accepting_at(store, hours, utc) is open_


def test_same_instant_open_in_one_zone_closed_in_another(store):
    publish_menu(store, items=1)
    hours = [{"day": "FRI", "open": "09:00", "close": "17:00"}]
    Store.objects.filter(pk=store.pk).update(timezone="Europe/Berlin")
    assert accepting_at(store, hours, "2026-11-27T15:00:00Z") is True  # 16:00 in Berlin
    Store.objects.filter(pk=store.pk).update(timezone="America/Los_Angeles")
    assert accepting_at(store, hours, "2026-11-27T15:00:00Z") is False  # 07:00 in Los Angeles


def test_catalog_shows_availability(api, store):
    publish_menu(store, items=3)
    MenuItem.objects.filter(link_id="itm_2").update(available=False)
    Menu.objects.filter(store=store).update(revision=5)
    items = api.get("/api/v1/stores/sf_1/menu/").json()["categories"][0]["items"]
    assert [i["available"] for i in items] == [True, False, True]

"""Menu versions (issue 27): kept at ingest, pruned, compared; menu.updated carries the change summary."""

import pytest
from django.test import override_settings

from integration.models import MenuVersion, NotificationEvent
from integration.selectors.menu_versions import content_unpack, menu_versions_diff
from integration.services.menus.ingest import INGESTED, UNCHANGED, menu_ingest
from tests.factories import StoreFactory
from tests.menus import build_menu, find, with_changes

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory(venue_id="ven_1", external_store_id="sf_1")


def _v2(v1: dict) -> dict:
    v2 = with_changes(v1, version=2)
    find(v2, "items", "itm_1")["price"] = 949
    find(v2, "items", "itm_2")["available"] = False
    v2["items"] = [i for i in v2["items"] if i["id"] != "itm_4"]
    for category in v2["categories"]:
        category["item_ids"] = [i for i in category["item_ids"] if i != "itm_4"]
    v2["items"].append({**find(v1, "items", "itm_3"), "id": "itm_9", "name": "New"})
    v2["categories"][0]["item_ids"].append("itm_9")
    return v2


def test_each_version_is_kept_and_the_diff_lists_exactly_what_changed(store):
    v1 = build_menu(items=5, venue_id="ven_1")
    assert menu_ingest(store, v1).outcome == INGESTED
    assert menu_ingest(store, _v2(v1)).outcome == INGESTED
    assert list(MenuVersion.objects.filter(store=store).values_list("version", flat=True)) == [2, 1]
    diff = menu_versions_diff(store, 1, 2)
    assert diff["from"] == 1 and diff["to"] == 2
    assert diff["items"]["added"] == ["itm_9"]
    assert diff["items"]["removed"] == ["itm_4"]
    assert diff["items"]["changed"] == [
        {"id": "itm_1", "changes": {"price": [899, 949]}},
        {"id": "itm_2", "changes": {"available": [True, False]}},
    ]
    assert diff["modifiers"] == {"added": [], "removed": [], "changed": []}
    assert diff["categories"]["changed"][0]["changes"]["item_ids"][1][-1] == "itm_9"
    assert menu_versions_diff(store, 2, 1)["items"]["added"] == ["itm_4"]
    assert menu_versions_diff(store, 1, 7) is None


def test_menu_updated_carries_the_change_summary(store):
    v1 = build_menu(items=5, venue_id="ven_1")
    menu_ingest(store, v1)
    menu_ingest(store, _v2(v1))
    event = NotificationEvent.objects.filter(type="menu.updated").order_by("-id").first()
    changes = event.data["changes"]
    assert changes["items"] == {"added": 1, "removed": 1, "changed": 2}
    assert changes["modifiers"] == {"added": 0, "removed": 0, "changed": 0}
    assert set(changes) == {"items", "modifiers", "modifier_groups", "categories"}
    row = MenuVersion.objects.get(store=store, version=2)
    # itm_1's price changed among the 4 items in both and the 4 modifiers: 1 of 8.
    assert row.summary["prices"] == {"changed": 1, "compared": 8, "percent": 12.5}


def test_an_unchanged_republish_under_a_new_number_is_a_version_with_no_changes(store):
    v1 = build_menu(items=3, venue_id="ven_1")
    menu_ingest(store, v1)
    assert menu_ingest(store, with_changes(v1, version=2)).outcome == UNCHANGED
    diff = menu_versions_diff(store, 1, 2)
    assert all(diff[s] == {"added": [], "removed": [], "changed": []} for s in ("items", "modifiers"))
    event = NotificationEvent.objects.filter(type="menu.updated").order_by("-id").first()
    assert event.data["changes"]["items"] == {"added": 0, "removed": 0, "changed": 0}


@override_settings(MENU_VERSIONS_KEPT=3)
def test_only_the_last_versions_kept_are_kept(store):
    menu = build_menu(items=3, venue_id="ven_1")
    for version in range(1, 7):
        changed = with_changes(menu, version=version)
        find(changed, "items", "itm_1")["price"] = 100 + version
        menu_ingest(store, changed)
    assert list(MenuVersion.objects.filter(store=store).values_list("version", flat=True)) == [6, 5, 4]
    content = content_unpack(MenuVersion.objects.get(store=store, version=6).content)
    assert content["items"]["itm_1"][2] == 106

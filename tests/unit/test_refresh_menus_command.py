import json

import pytest
import responses as responses_lib
from django.core.management import call_command
from django.core.management.base import CommandError

from integration.models import Menu, MenuItem, Store
from tests.factories import StoreFactory
from tests.menus import build_menu, publish_menu

pytestmark = pytest.mark.django_db

LINK_MENU = "http://link.test/v2/venues/{}/menu"


@pytest.fixture
def stores():
    one = StoreFactory(venue_id="ven_1")
    two = StoreFactory(venue_id="ven_2")
    publish_menu(one, items=2, version=1)
    publish_menu(two, items=2, version=1, venue_id="ven_2")
    StoreFactory(venue_id="ven_gone", state=Store.State.DISCONNECTED)
    return one, two


def run(*args) -> tuple[str, str, int]:
    from io import StringIO

    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command("link_refresh_menus", *args, stdout=out, stderr=err)
    except CommandError as exc:
        err.write(str(exc))
        code = exc.returncode
    return out.getvalue(), err.getvalue(), code


def test_refresh_ingests_new_and_recognises_unchanged(stores, mocked_link):
    mocked_link.add(responses_lib.GET, LINK_MENU.format("ven_1"), json=build_menu(items=5, version=2))
    mocked_link.add(responses_lib.GET, LINK_MENU.format("ven_2"), json=build_menu(items=2, version=1, venue_id="ven_2"))
    out, err, code = run()
    assert code == 0, err
    assert "ven_1: v2 ingested: 1 categories, 5 items" in out
    assert "ven_2: v1 unchanged" in out
    assert out.strip().endswith("2 stores: 1 ingested, 1 unchanged, 0 stale, 0 not published on Link, 0 failed.")
    assert Menu.objects.get(store__venue_id="ven_1").item_count == 5
    assert "ven_gone" not in out  # disconnected stores are left out unless named


def test_venue_filter_and_force(stores, mocked_link):
    mocked_link.add(responses_lib.GET, LINK_MENU.format("ven_2"), json=build_menu(items=2, version=1, venue_id="ven_2"))
    MenuItem.objects.filter(menu__store__venue_id="ven_2").update(available=False)
    out, _, code = run("--venue", "ven_2", "--force")
    assert code == 0 and "1 stores: 1 ingested" in out
    assert set(MenuItem.objects.filter(menu__store__venue_id="ven_2").values_list("available", flat=True)) == {True}
    assert [c.request.url for c in mocked_link.calls if "/menu" in c.request.url] == [LINK_MENU.format("ven_2")]


def test_unknown_venue_is_a_command_error(stores):
    with pytest.raises(CommandError, match="Unknown venue"):
        call_command("link_refresh_menus", "--venue", "ven_nobody")


def test_dry_run_fetches_and_checks_but_writes_nothing(stores, mocked_link):
    mocked_link.add(responses_lib.GET, LINK_MENU.format("ven_1"), json=build_menu(items=9, version=3))
    mocked_link.add(responses_lib.GET, LINK_MENU.format("ven_2"), status=503, json={"error": {"code": "down"}})
    before = {m.pk: (m.version, m.updated_at, m.last_error) for m in Menu.objects.all()}
    out, err, code = run("--dry-run")
    assert "ven_1: v3 would be ingested (live before: v1)" in out
    assert "ven_2: fetch failed" in err
    assert "dry run: 2 stores: 1 would ingest, 0 unchanged, 0 stale, 0 not published on Link, 1 failed." in out
    assert code == 1
    assert {m.pk: (m.version, m.updated_at, m.last_error) for m in Menu.objects.all()} == before


def test_any_failure_exits_non_zero_and_is_recorded(stores, mocked_link):
    bad = build_menu(items=2, version=2)
    bad["items"][0]["price"] = -3
    mocked_link.add(responses_lib.GET, LINK_MENU.format("ven_1"), json=bad)
    mocked_link.add(responses_lib.GET, LINK_MENU.format("ven_2"), status=404, json={"error": {"code": "no_menu"}})
    out, err, code = run()
    assert code == 1
    assert "ven_1: v2: Menu refused (1 problem): items[0] 'itm_1': price -3 is negative" in err
    assert "ven_2: fetch failed: no_menu" in err
    assert out.strip().endswith("2 stores: 0 ingested, 0 unchanged, 0 stale, 0 not published on Link, 2 failed.")
    errors = dict(Menu.objects.values_list("store__venue_id", "last_error"))
    assert "price -3 is negative" in errors["ven_1"] and "refreshing the menu failed: no_menu" in errors["ven_2"]
    assert Menu.objects.get(store__venue_id="ven_1").version == 1


def test_oversized_menu_is_refused_by_the_cap(stores, mocked_link, settings):
    settings.LINK_MENU_MAX_BYTES = 1000
    big = build_menu(items=30, version=2)
    assert len(json.dumps(big)) > 1000
    mocked_link.add(responses_lib.GET, LINK_MENU.format("ven_1"), json=big)
    _, err, code = run("--venue", "ven_1")
    assert code == 1 and "too_large" in err
    assert Menu.objects.get(store__venue_id="ven_1").item_count == 2


def test_link_404_is_not_a_failure_while_no_menu_is_live_here(mocked_link):
    StoreFactory(venue_id="ven_new")  # connected, no menu announced yet
    mocked_link.add(
        responses_lib.GET, LINK_MENU.format("ven_new"), status=404, json={"error": {"code": "menu_not_found"}}
    )
    out, err, code = run()
    assert code == 0, err
    assert "ven_new: Link has no published menu for this venue (menu_not_found)" in out
    assert out.strip().endswith("1 stores: 0 ingested, 0 unchanged, 0 stale, 1 not published on Link, 0 failed.")


def test_link_404_while_our_menu_is_live_is_a_failure(stores, mocked_link):
    mocked_link.add(
        responses_lib.GET, LINK_MENU.format("ven_1"), status=404, json={"error": {"code": "menu_not_found"}}
    )
    _, err, code = run("--venue", "ven_1")
    assert code == 1 and "ven_1: fetch failed: menu_not_found" in err
    assert "Link and we disagree" in Menu.objects.get(store__venue_id="ven_1").last_error


def test_unpublished_menus_are_left_out_unless_named(stores, mocked_link):
    Menu.objects.filter(store__venue_id="ven_2").update(state=Menu.State.UNPUBLISHED)
    mocked_link.add(responses_lib.GET, LINK_MENU.format("ven_1"), json=build_menu(items=2, version=1))
    out, _, code = run()
    assert code == 0 and "ven_2" not in out and "1 stores:" in out
    mocked_link.add(responses_lib.GET, LINK_MENU.format("ven_2"), json=build_menu(items=2, version=1, venue_id="ven_2"))
    out, _, code = run("--venue", "ven_2")
    assert code == 0 and "ven_2: v1 unchanged" in out
    assert Menu.objects.get(store__venue_id="ven_2").state == Menu.State.PUBLISHED  # Link says it is published

"""The menu layer in the console (issue 27): what changed in a version, overrides on the menu page, price
rules with a preview, and the dashboard's flag for a version changing many prices."""

import pytest

from integration.models import ItemOverride, Menu, PriceRule
from integration.services.menus.ingest import menu_ingest
from tests.factories import StoreFactory
from tests.menus import build_menu, find, with_changes

pytestmark = pytest.mark.django_db


@pytest.fixture
def menu():
    store = StoreFactory(venue_id="ven_1", external_store_id="sf_1")
    v1 = build_menu(items=10, venue_id="ven_1")
    menu_ingest(store, v1)
    v2 = with_changes(v1, version=2)
    for n, item_id in enumerate(("itm_1", "itm_2", "itm_3")):
        find(v2, "items", item_id)["price"] += 100 if n < 2 else -100
    menu_ingest(store, v2)
    return Menu.objects.get(store=store)


def test_menu_page_shows_what_changed_with_money_and_colours(ops, client, menu):
    page = client.get(f"/admin/integration/menu/{menu.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "What changed in version 2" in html and 'id="version-picker"' in html
    assert '<td class="up">$10.49</td>' in html  # itm_2: 949 -> 1049
    assert 'class="down"' in html
    older = client.get(f"/admin/integration/menu/{menu.pk}/change/?version=1").content.decode()
    assert "What changed in version 1" in older and "not kept" in older


def test_overrides_on_the_menu_page_orphans_shown(ops, client, menu):
    url = f"/admin/integration/menu/{menu.pk}/override/"
    resp = client.post(url, {"item_id": "itm_2", "name": "Ours", "description": "", "image_url": ""})
    assert resp.status_code == 302
    assert ItemOverride.objects.get(item_id="itm_2").name == "Ours"
    client.post(url, {"item_id": "itm_gone", "hidden": "on"})
    html = client.get(f"/admin/integration/menu/{menu.pk}/change/").content.decode()
    assert "itm_gone" in html and "orphaned" in html
    client.post(url, {"item_id": "itm_2", "_delete": "1"})
    assert not ItemOverride.objects.filter(item_id="itm_2").exists()


def test_support_cannot_set_overrides(support, client, menu):
    assert client.post(f"/admin/integration/menu/{menu.pk}/override/", {"item_id": "itm_1"}).status_code == 403


def test_price_rule_preview_then_save(ops, client, menu):
    form = {
        "name": "Ten",
        "markup_percent": "10.00",
        "markup_fixed": "0",
        "rounding_step": "50",
        "rounding_ending": "49",
        "exclude_items": "itm_3",
        "modifiers": "on",
    }
    preview = client.post("/admin/integration/pricerule/add/preview/", form)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "Save this rule" in html and "With this rule" in html
    assert "$10.99" in html  # itm_1: 999 x 1.1 = 1098.9 -> 1099
    assert not PriceRule.objects.exists()  # a preview saves nothing
    saved = client.post("/admin/integration/pricerule/add/", {**form, "_save": "Save"})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    rule = PriceRule.objects.get()
    assert rule.exclude_items == ["itm_3"] and rule.rounding_ending == 49
    bad = client.post("/admin/integration/pricerule/add/", {**form, "rounding_ending": "50", "_save": "Save"})
    assert bad.status_code == 200 and "ending" in bad.content.decode()


def test_dashboard_flags_a_version_changing_many_prices(ops, client, menu, settings):
    settings.MENU_CHANGE_ALERT_PERCENT = 10  # 3 of 10 items (+ 4 modifiers): 21%
    flagged = client.get("/admin/integration/menu/?attention=repriced").content.decode()
    assert "ven_1" in flagged or "men_1" in flagged
    settings.MENU_CHANGE_ALERT_PERCENT = 50
    assert "men_1" not in client.get("/admin/integration/menu/?attention=repriced").content.decode()
    assert "changing many prices" in client.get("/admin/").content.decode()

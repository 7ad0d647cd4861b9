import pytest
import responses as responses_lib
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integration.models import Menu, MenuItem, Modifier, OutboundCall
from integration.services.outbox.calls import call_deliver
from tests.factories import StoreFactory
from tests.menus import build_menu, publish_menu

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/integration/menu/"


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    return client


def staff_client(client, *codenames):
    user = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="integration", codename__in=codenames))
    client.force_login(user)
    return client


def test_menu_list_shows_counts_and_errors_without_a_query_per_row(admin_client):
    for n in range(3):
        publish_menu(StoreFactory(venue_id=f"ven_{n}"), items=2)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(CHANGELIST).status_code == 200
    for n in range(3, 25):
        publish_menu(StoreFactory(venue_id=f"ven_{n}"), items=2)
    Menu.objects.filter(store__venue_id="ven_4").update(last_error="fetching the menu failed: timeout")
    with CaptureQueriesContext(connection) as many:
        resp = admin_client.get(CHANGELIST)
    assert len(few.captured_queries) == len(many.captured_queries)
    assert b"fetching the menu failed: timeout" in resp.content
    failed = admin_client.get(CHANGELIST + "?error=yes")
    assert failed.content.count(b'class="action-select"') == 1


def test_store_list_reads_the_menu_without_a_query_per_row(admin_client):
    for n in range(3):
        publish_menu(StoreFactory(venue_id=f"ven_{n}"), items=1)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get("/admin/integration/store/").status_code == 200
    for n in range(3, 20):
        publish_menu(StoreFactory(venue_id=f"ven_{n}"), items=1)
    with CaptureQueriesContext(connection) as many:
        assert admin_client.get("/admin/integration/store/").status_code == 200
    assert len(few.captured_queries) == len(many.captured_queries)


def test_menu_page_shows_the_catalog_read_only(admin_client):
    store = StoreFactory(venue_id="ven_1")
    menu = publish_menu(store, items=3, groups=2, modifiers=4, depth=2, version=7)
    MenuItem.objects.filter(link_id="itm_2").update(available=False)
    Modifier.objects.filter(link_id="mod_3").update(available=False)
    resp = admin_client.get(f"{CHANGELIST}{menu.pk}/change/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Catalog: men_1 v7 (Published, USD)" in html
    assert "Category 1" in html and "Item 2" in html and "$8.99" in html
    assert "Modifier 1" in html and "$1.50" in html
    assert "Group 2 (level 2)" in html  # opened by Modifier 1: linked from it
    # itm_2 and mod_3 once each: every group is listed once, whatever opens it
    assert html.count('class="unavailable"') == 2
    assert 'name="_save"' not in html  # read-only


def test_large_catalog_page_is_capped(admin_client):
    menu = publish_menu(StoreFactory(venue_id="ven_1"), items=400, groups=4, modifiers=8)
    html = admin_client.get(f"{CHANGELIST}{menu.pk}/change/").content.decode()
    assert "Showing the first 300 of 400 items." in html
    assert "itm_300<" in html and "itm_301<" not in html


def test_refresh_action_queues_a_fetch_through_the_outbox(client, mocked_link):
    store = StoreFactory(venue_id="ven_1")
    menu = publish_menu(store, items=2, version=1)
    ops = staff_client(client, "view_menu", "refresh_menu")
    resp = ops.post(CHANGELIST, {"action": "refresh_menus", "_selected_action": [menu.pk]}, follow=True)
    assert "fetch queued as outbound call" in resp.content.decode()
    call = OutboundCall.objects.get(kind=OutboundCall.Kind.FETCH_MENU)
    assert (call.method, call.path, call.store_id) == ("GET", "/v2/venues/ven_1/menu", store.pk)
    ops.post(CHANGELIST, {"action": "refresh_menus", "_selected_action": [menu.pk]})
    assert OutboundCall.objects.count() == 1  # one queued refresh is enough

    mocked_link.add(responses_lib.GET, "http://link.test/v2/venues/ven_1/menu", json=build_menu(items=6, version=2))
    call_deliver(call.pk)
    menu.refresh_from_db()
    assert (menu.version, menu.item_count) == (2, 6)


def test_refresh_needs_its_permission(client):
    menu = publish_menu(StoreFactory(venue_id="ven_1"), items=2)
    viewer = staff_client(client, "view_menu")
    page = viewer.get(CHANGELIST).content.decode()
    assert "refresh_menus" not in page
    viewer.post(CHANGELIST, {"action": "refresh_menus", "_selected_action": [menu.pk]})
    assert not OutboundCall.objects.exists()


def test_menu_page_shows_hours_as_a_weekly_table_not_json(admin_client):
    from integration.models import Menu

    menu = publish_menu(StoreFactory(venue_id="ven_1", timezone="Europe/Paris"), items=3, groups=1, modifiers=2)
    hours = [
        {"day": "MON", "open": "17:00", "close": "22:00"},
        {"day": "MON", "open": "11:00", "close": "14:00"},
        {"day": "FRI", "open": "18:00", "close": "02:00"},
    ]
    Menu.objects.filter(pk=menu.pk).update(hours=hours)
    html = admin_client.get(f"{CHANGELIST}{menu.pk}/change/").content.decode()
    week = html[html.index('id="menu-hours"') : html.index("</table>", html.index('id="menu-hours"'))]
    assert "<th>MON</th><td>11:00-14:00, 17:00-22:00</td>" in week
    assert "<th>FRI</th><td>18:00-02:00</td>" in week and "<th>TUE</th><td>closed</td>" in week
    assert "Europe/Paris" in html and '"open": "17:00"' not in html
    assert 'id="menu-search"' in html


def test_menu_page_lists_each_group_once_whatever_the_fan_out(admin_client):
    """Issue 11 row 4: 4 levels of 4 groups whose every modifier opens every group one level down; a page
    that expanded nesting under each item rendered 4 * 16**3 groups per item, this one renders each once."""
    doc = build_menu(items=3, groups=0, modifiers=0)
    doc["modifier_groups"], doc["modifiers"] = [], []
    for level in range(4):
        for g in range(4):
            mids = [f"mod_{level}_{g}_{k}" for k in range(4)]
            doc["modifier_groups"].append({"id": f"mg_{level}_{g}", "name": f"G{level}.{g}", "modifier_ids": mids})
            opens = [f"mg_{level + 1}_{n}" for n in range(4)] if level < 3 else []
            doc["modifiers"] += [{"id": m, "name": m, "price": 10, "modifier_group_ids": opens} for m in mids]
    for item in doc["items"]:
        item["modifier_group_ids"] = [f"mg_0_{n}" for n in range(4)]
    from integration.services.menus.ingest import menu_ingest

    store = StoreFactory(venue_id="ven_1")
    assert menu_ingest(store, doc).outcome == "ingested"
    html = admin_client.get(f"{CHANGELIST}{store.menu.pk}/change/").content.decode()
    for level in range(4):
        for g in range(4):
            assert html.count(f'id="group-mg_{level}_{g}"') == 1
    assert html.count("mod_3_0_0 <") == 1

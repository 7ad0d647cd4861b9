"""Issue 28 in the ops console: busy actions, special hours on the store page, snooze presets on the menu
page, the timeline, and forgotten snoozes on the dashboard."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from integration.models import ItemSnooze, SpecialHours, StoreBusy, StoreTimelineEntry
from integration.services.menus.snoozes import catalog_snooze
from tests.admin.test_ops_actions import act
from tests.order_fixtures import make_store

pytestmark = pytest.mark.django_db


def test_busy_quick_action_and_end(client, ops):
    store = make_store()
    store.timezone = "America/New_York"
    store.save(update_fields=["timezone"])
    said = act(client, "store", "busy_quick", [store])
    busy = StoreBusy.objects.get(store=store)
    assert f"until {busy.until.astimezone(ZoneInfo('America/New_York')):%H:%M} E" in said  # the store's clock
    assert busy.extra_prep_minutes == 15 and busy.via == "admin" and busy.set_by == ops
    assert timedelta(minutes=59) < busy.until - timezone.now() <= timedelta(hours=1)
    act(client, "store", "busy_end", [store])
    assert not StoreBusy.objects.exists()
    actions = list(StoreTimelineEntry.objects.order_by("at", "id").values_list("action", "via"))
    assert actions == [("busy_started", "admin"), ("busy_ended", "admin")]
    page = client.get(f"/admin/integration/store/{store.pk}/change/").content.decode()
    assert "busy started: +15 min prep" in page and "by ops-1" in page


def test_busy_form_sets_a_cap(client, ops):
    store = make_store()
    form = act(client, "store", "busy_stores", [store])
    assert 'name="max_orders_per_15_min"' in form
    act(
        client,
        "store",
        "busy_stores",
        [store],
        apply="1",
        extra_prep_minutes="20",
        minutes="",
        max_orders_per_15_min="4",
    )
    busy = StoreBusy.objects.get(store=store)
    assert (busy.extra_prep_minutes, busy.max_orders_per_15_min, busy.until) == (20, 4, None)


def test_support_may_not_set_busy(client, support):
    store = make_store()
    act(client, "store", "busy_quick", [store])
    assert not StoreBusy.objects.exists()


def test_special_hours_on_the_store_page_go_through_the_service(client, ops):
    store = make_store()
    day = (timezone.now() + timedelta(days=10)).date()
    page = client.get(f"/admin/integration/store/{store.pk}/change/").content.decode()
    assert "special_hours-TOTAL_FORMS" in page
    data = {
        "name": store.name,
        "external_store_id": store.external_store_id,
        "timezone": store.timezone,
        "address": "{}",
        "special_hours-TOTAL_FORMS": "1",
        "special_hours-INITIAL_FORMS": "0",
        "special_hours-0-date": day.isoformat(),
        "special_hours-0-open": "10:00",
        "special_hours-0-close": "16:00",
        "timeline-TOTAL_FORMS": "0",
        "timeline-INITIAL_FORMS": "0",
    }
    answer = client.post(f"/admin/integration/store/{store.pk}/change/", data)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    row = SpecialHours.objects.get(store=store)
    assert (row.date, row.open, row.close, row.closed) == (day, "10:00", "16:00", False)
    entry = StoreTimelineEntry.objects.get(action="special_hours_set")
    assert (entry.via, entry.by) == ("admin", ops)


def test_snooze_presets_on_the_menu_page(client, ops):
    store = make_store()
    page = client.get(f"/admin/integration/menu/{store.menu.pk}/change/").content.decode()
    assert 'id="snooze-form"' in page
    url = f"/admin/integration/menu/{store.menu.pk}/snooze/"
    client.post(url, {"kind": "item", "link_id": "itm_soda", "preset": "60"})
    snooze = ItemSnooze.objects.get()
    assert snooze.via == "admin" and timedelta(minutes=59) < snooze.until - timezone.now() <= timedelta(hours=1)
    client.post(url, {"kind": "item", "link_id": "itm_fries", "preset": "end_of_day"})
    client.post(url, {"kind": "modifier", "link_id": "mod_bacon", "preset": "until", "local_until": "2099-01-01T10:00"})
    assert ItemSnooze.objects.count() == 2  # 2099 is past the 30 days a snooze may last: refused
    page = client.get(f"/admin/integration/menu/{store.menu.pk}/change/").content.decode()
    assert page.count('class="snooze"') == 2
    client.post(url, {"kind": "item", "end": "itm_soda"})
    assert list(ItemSnooze.objects.values_list("link_id", flat=True)) == ["itm_fries"]


def test_support_sees_snoozes_but_cannot_snooze(client, support):
    store = make_store()
    catalog_snooze(store, "item", "itm_soda", "end_of_day")
    page = client.get(f"/admin/integration/menu/{store.menu.pk}/change/").content.decode()
    assert 'class="snooze"' in page and 'id="snooze-form"' not in page
    assert client.post(f"/admin/integration/menu/{store.menu.pk}/snooze/", {"end": "itm_soda"}).status_code == 403


def test_the_dashboard_lists_snoozes_over_24_hours(client, ops):
    store = make_store()
    catalog_snooze(store, "item", "itm_fries", timezone.now() + timedelta(days=2))
    page = client.get("/admin/").content.decode()
    assert 'id="card-menu-snoozed_long" data-count="1"' in page
    assert "Fries (itm_fries)" in page

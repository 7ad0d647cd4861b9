"""Issue 28 through the API and the services: snoozes, special hours, busy mode, their sweep, their events
and timelines, and automatic busy."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from integration.models import ItemSnooze, NotificationEvent, Order, SpecialHours, StoreBusy, StoreTimelineEntry
from integration.selectors.snoozes import snoozes_active, snoozes_long
from integration.services.menus.snoozes import catalog_snooze, snoozes_expire
from integration.services.mp_events.events import store_accepting_announce
from integration.services.stores.busy import StoreBusyCapped, busy_admit, busy_auto_check, busy_expire, store_busy_set
from integration.services.stores.special_hours import special_hours_announce_boundaries
from tests.factories import OrderFactory
from tests.order_fixtures import api_client, api_user, burger_line, make_store, mod, order_request, published_menu

pytestmark = pytest.mark.django_db

MANAGER = ["place_order", "manage_catalog", "manage_stores"]
NEW_YORK = ZoneInfo("America/New_York")  # make_store's zone


@pytest.fixture
def store():
    return make_store()


@pytest.fixture
def api(store):
    return api_client(api_user("ops-tool", MANAGER))


def events(type_: str) -> list[dict]:
    return list(NotificationEvent.objects.filter(type=type_).order_by("id").values_list("data", flat=True))


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# --- snoozes -------------------------------------------------------------------------------------------


def test_snoozing_needs_manage_catalog(store):
    checkout = api_client(api_user("checkout"))
    until = iso(timezone.now() + timedelta(hours=1))
    answer = checkout.post("/api/v1/stores/sf_1/menu/items/itm_burger/snooze/", {"until": until}, format="json")
    assert answer.status_code == 403


def test_a_snoozed_item_is_unavailable_in_the_catalog_and_refused_naming_its_return(api, store):
    until = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)
    answer = api.post("/api/v1/stores/sf_1/menu/items/itm_burger/snooze/", {"until": iso(until)}, format="json")
    assert answer.status_code == 200 and answer.json() == {"item_id": "itm_burger", "snoozed_until": iso(until)}
    assert snoozes_active(store) == {("item", "itm_burger"): until}  # (the catalog: tests/e2e, test_timed_boundaries)
    refused = api.post("/api/v1/orders/", order_request(), format="json")
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "item_unavailable"
    assert error["details"][0]["field"] == "items[0].item_id" and error["details"][0]["returns_at"] == iso(until)
    assert "snoozed until" in error["details"][0]["message"]

    assert api.delete("/api/v1/stores/sf_1/menu/items/itm_burger/snooze/").status_code == 204
    assert api.post("/api/v1/orders/", order_request(), format="json").status_code == 201
    changes = [e["snooze"]["event"] for e in events("menu.updated")]
    assert changes == ["started", "ended"]
    timeline = StoreTimelineEntry.objects.filter(store=store, area="menu").order_by("at", "id")
    assert [(t.action, t.via, t.by.username) for t in timeline] == [
        ("snooze_started", "api", "ops-tool"),
        ("snooze_ended", "api", "ops-tool"),
    ]


def test_a_snoozed_modifier_is_refused_too_and_links_unavailable_stays_invalid_order(api, store):
    until = iso(timezone.now() + timedelta(hours=1))
    answer = api.post("/api/v1/stores/sf_1/menu/modifiers/mod_bacon/snooze/", {"until": until}, format="json")
    assert answer.status_code == 200 and answer.json()["modifier_id"] == "mod_bacon"
    refused = api.post("/api/v1/orders/", order_request(), format="json").json()["error"]
    assert (refused["code"], refused["details"][0]["field"]) == (
        "item_unavailable",
        "items[0].modifiers[1].modifier_id",
    )
    body = order_request(items=[burger_line(modifiers=[mod("mod_single", "mg_size"), mod("mod_egg", "mg_addons")])])
    assert api.post("/api/v1/orders/", body, format="json").json()["error"]["code"] == "invalid_order"  # Link's own


def test_unknown_entries_and_past_times_are_refused(api):
    future = iso(timezone.now() + timedelta(hours=1))
    unknown = api.post("/api/v1/stores/sf_1/menu/items/itm_nope/snooze/", {"until": future}, format="json")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "item_not_found"
    past = api.post("/api/v1/stores/sf_1/menu/items/itm_soda/snooze/", {"until": "2020-01-01T00:00:00Z"}, format="json")
    assert past.status_code == 400 and past.json()["error"]["code"] == "invalid_until"


def test_a_snooze_survives_a_new_menu_version_and_its_end_is_announced_by_the_sweep(store):
    snooze = catalog_snooze(store, "item", "itm_soda", "end_of_day")
    store.menu.delete()
    published_menu(store, version=2)  # new rows, new primary keys
    assert ItemSnooze.objects.get().pk == snooze.pk
    assert snoozes_expire(now=snooze.until - timedelta(seconds=1)) == 0
    assert snoozes_expire(now=snooze.until) == 1
    assert not ItemSnooze.objects.exists()
    ended = events("menu.updated")[-1]
    assert (ended["snooze"]["event"], ended["snooze"]["ended_by"], ended["version"]) == ("ended", "time", 2)
    assert StoreTimelineEntry.objects.filter(action="snooze_ended", via="time").exists()


def test_the_dashboard_lists_snoozes_longer_than_a_day(store):
    catalog_snooze(store, "item", "itm_soda", timezone.now() + timedelta(hours=2))
    catalog_snooze(store, "item", "itm_fries", timezone.now() + timedelta(days=3))
    assert [s.link_id for s in snoozes_long()] == ["itm_fries"]


# --- special hours -------------------------------------------------------------------------------------


def test_special_hours_replace_the_list_drop_past_dates_and_are_validated(api, store):
    today = timezone.now().astimezone(NEW_YORK).date()
    past = (today - timedelta(days=3)).isoformat()
    later = (today + timedelta(days=5)).isoformat()
    body = [{"date": past, "closed": True}, {"date": later, "open": "10:00", "close": "16:00"}]
    answer = api.put("/api/v1/stores/sf_1/special-hours/", body, format="json")
    assert answer.status_code == 200 and answer.json() == [body[1]]
    assert api.get("/api/v1/stores/sf_1/special-hours/").json() == [body[1]]
    bad = api.put("/api/v1/stores/sf_1/special-hours/", [{"date": later, "open": "25:00"}], format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_special_hours"
    assert SpecialHours.objects.count() == 1
    assert StoreTimelineEntry.objects.get(action="special_hours_set").via == "api"


def test_special_hours_closing_today_refuse_orders_and_are_announced(api, store):
    store_accepting_announce(store)  # MP services heard it accepting
    local_today = timezone.now().astimezone(NEW_YORK).date().isoformat()
    api.put("/api/v1/stores/sf_1/special-hours/", [{"date": local_today, "closed": True}], format="json")
    refused = api.post("/api/v1/orders/", order_request(), format="json")
    assert refused.status_code == 409 and refused.json()["error"]["details"]["reason_code"] == "special_hours"
    shown = api.get("/api/v1/stores/sf_1/").json()
    assert (shown["not_accepting_code"], shown["special_hours_today"]) == (
        "special_hours",
        {"date": local_today, "closed": True},
    )
    assert [(e["accepting"], e["reason"]) for e in events("store.accepting_changed")] == [
        (True, "accepting"),
        (False, "special_hours"),
    ]


def test_the_sweep_announces_a_boundary_only_special_hours_cause(store):
    store_accepting_announce(store)
    local_today = timezone.now().astimezone(NEW_YORK).date()
    SpecialHours.objects.create(store=store, date=local_today, closed=True)  # as if its day had just begun
    assert special_hours_announce_boundaries() == 1
    assert special_hours_announce_boundaries() == 0  # said once
    assert events("store.accepting_changed")[-1]["reason"] == "special_hours"


# --- busy ----------------------------------------------------------------------------------------------


def test_busy_is_shown_on_the_store_with_who_set_it_and_announced(api, store):
    until = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)
    body = {"extra_prep_minutes": 15, "until": iso(until), "max_orders_per_15_min": 10}
    assert api.post("/api/v1/stores/sf_1/busy/", body, format="json").status_code == 200
    busy = api.get("/api/v1/stores/sf_1/").json()["busy"]
    assert busy["extra_prep_minutes"] == 15 and busy["until"] == iso(until) and busy["max_orders_per_15_min"] == 10
    assert busy["set_by"] == {"via": "api", "who": "ops-tool", "trigger": None}
    assert api.delete("/api/v1/stores/sf_1/busy/").status_code == 204
    assert [(e["busy"], e["change"]) for e in events("store.busy_changed")] == [(True, "started"), (False, "ended")]
    assert api.get("/api/v1/stores/sf_1/").json()["busy"] is None


def test_the_cap_counts_the_trailing_15_minutes_and_says_when_a_slot_frees(store):
    store_busy_set(store, extra_prep_minutes=10, max_orders_per_15_min=2)
    now = timezone.now()
    OrderFactory(store=store, placed_at=now - timedelta(minutes=20))  # out of the window
    OrderFactory(store=store, placed_at=now - timedelta(minutes=10))
    OrderFactory(store=store, placed_at=now - timedelta(minutes=5))
    store.refresh_from_db()
    with pytest.raises(StoreBusyCapped) as refused:
        busy_admit(store)
    assert 295 <= refused.value.retry_after <= 301  # the older one leaves the window in 5 minutes
    Order.objects.filter(placed_at__gt=now - timedelta(minutes=11), placed_at__lt=now - timedelta(minutes=9)).delete()
    assert busy_admit(store) is not None


def test_busy_ends_by_itself_at_until(store):
    busy = store_busy_set(store, extra_prep_minutes=10, until=timezone.now() + timedelta(minutes=30))
    assert busy_expire(now=busy.until - timedelta(seconds=1)) == 0
    assert busy_expire(now=busy.until) == 1
    assert not StoreBusy.objects.exists()
    assert events("store.busy_changed")[-1]["ended_by"] == "time"


def test_automatic_busy_from_prep_times_and_capacity_rejections(settings, store):
    settings.AUTO_BUSY, settings.AUTO_BUSY_PREP_MINUTES, settings.AUTO_BUSY_MINUTES = True, 30, 20
    now = timezone.now()
    orders = [
        OrderFactory(store=store, prep_time_minutes=50, confirmed_at=now - timedelta(minutes=n)) for n in range(5)
    ]
    busy = busy_auto_check(orders[0])
    assert busy.via == "auto" and "average 50 min" in busy.trigger
    assert abs((busy.until - now - timedelta(minutes=20)).total_seconds()) < 5
    assert events("store.busy_changed")[-1]["set_by"]["via"] == "auto"

    StoreBusy.objects.all().delete()
    Order.objects.all().delete()
    rejected = [
        OrderFactory(store=store, state="REJECTED", reason_code="KITCHEN_BUSY", closed_at=now) for _ in range(3)
    ]
    assert "3 orders rejected for capacity" in busy_auto_check(rejected[-1]).trigger

    settings.AUTO_BUSY = False
    StoreBusy.objects.all().delete()
    assert busy_auto_check(rejected[-1]) is None

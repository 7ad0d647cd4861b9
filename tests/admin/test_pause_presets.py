"""Issue 13: pausing a store for 15/30/60 minutes, until closing, or until a time on the store's own clock."""

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from integration.models import Menu, Store
from integration.selectors.hours import hours_closing_at, hours_open_at
from tests.admin.test_ops_actions import act
from tests.factories import StoreFactory
from tests.menus import every_day

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def store_with_hours(hours, tz="America/Chicago") -> Store:
    store = StoreFactory(timezone=tz)
    Menu.objects.create(store=store, menu_id=f"men_{store.pk}", version=1, state=Menu.State.PUBLISHED, hours=hours)
    return store


def pause(client, store, **form) -> tuple[Store, str]:
    html = act(client, "store", "pause_stores", [store], apply="1", reason="rush", **form)
    return Store.objects.get(pk=store.pk), html


@pytest.mark.parametrize("minutes", [15, 30, 60])
def test_pause_for_a_preset_number_of_minutes(client, ops, no_broker, minutes):
    before = timezone.now()
    store, _ = pause(client, StoreFactory(), preset=str(minutes))
    assert store.state == Store.State.PAUSED
    assert before + timedelta(minutes=minutes) <= store.paused_until <= timezone.now() + timedelta(minutes=minutes)


def test_pause_until_closing_uses_the_stores_hours(client, ops, no_broker):
    store, _ = pause(client, store_with_hours(every_day("00:00", "23:59")), preset="closing")
    local = store.paused_until.astimezone(CHICAGO)
    assert (local.hour, local.minute) == (23, 59) and local.date() == timezone.now().astimezone(CHICAGO).date()


def test_pause_until_closing_refuses_a_store_without_a_closing_time(client, ops, no_broker):
    store, html = pause(client, StoreFactory(), preset="closing")
    assert store.state == Store.State.ACTIVE
    assert "has no closing time today" in html


def test_pause_until_a_time_on_the_stores_own_clock(client, ops, no_broker):
    local = (timezone.now() + timedelta(hours=3)).astimezone(CHICAGO).replace(second=0, microsecond=0)
    store, _ = pause(client, store_with_hours([]), local_until=local.strftime("%Y-%m-%dT%H:%M"))
    assert store.paused_until == local
    assert "America/Chicago" in act(client, "store", "pause_stores", [store])  # the form names the zone


def test_pause_takes_one_end_only(client, ops, no_broker):
    store, html = pause(client, StoreFactory(), preset="15", paused_until="2099-01-01 10:00")
    assert store.state == Store.State.ACTIVE and "Pick one end" in html


def test_closing_time_of_an_overnight_opening_is_the_next_morning():
    hours = [
        {"day": day, "open": "18:00", "close": "02:00"} for day in ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
    ]
    late = datetime(2026, 11, 27, 23, 30, tzinfo=CHICAGO)
    assert hours_closing_at(hours, "America/Chicago", late) == datetime(2026, 11, 28, 2, 0, tzinfo=CHICAGO)
    after_midnight = datetime(2026, 11, 28, 1, 0, tzinfo=CHICAGO)
    assert hours_closing_at(hours, "America/Chicago", after_midnight) == datetime(2026, 11, 28, 2, 0, tzinfo=CHICAGO)
    noon = datetime(2026, 11, 28, 12, 0, tzinfo=CHICAGO)
    assert hours_closing_at(hours, "America/Chicago", noon) is None and not hours_open_at(
        hours, "America/Chicago", noon
    )


def test_a_close_at_24_00_is_midnight_at_the_end_of_the_day():
    evening = datetime(2026, 11, 27, 20, 0, tzinfo=CHICAGO)
    closes = hours_closing_at(every_day("08:00", "24:00"), "America/Chicago", evening)
    assert closes == datetime(2026, 11, 28, 0, 0, tzinfo=CHICAGO)

"""Issue 28's time boundaries with a fixed clock: store-local dates across DST changes, snoozes ending at
midnight (end_of_day), overnight special hours. Every moment is passed in; nothing reads the wall clock."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from integration.link.menus import DAYS
from integration.models import ItemSnooze
from integration.selectors.hours import hours_closing_at, hours_open_at, store_local_date
from integration.selectors.snoozes import catalog_snoozes_apply, snoozes_active
from integration.selectors.stores import store_accepting
from integration.services.menus.snoozes import SnoozeRefused, snooze_until_parse, store_end_of_day
from tests.factories import MenuFactory, StoreFactory
from tests.menus import every_day

NY = "America/New_York"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def store_in(zone: str) -> SimpleNamespace:
    return SimpleNamespace(timezone=zone)


# --- store-local dates and DST ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "local_date"),
    [
        (utc(2026, 3, 8, 4, 59), date(2026, 3, 7)),  # 23:59 EST, the night DST starts
        (utc(2026, 3, 8, 5, 0), date(2026, 3, 8)),  # 00:00 EST
        (utc(2026, 3, 9, 3, 59), date(2026, 3, 8)),  # 23:59 EDT: a 23-hour day
        (utc(2026, 3, 9, 4, 0), date(2026, 3, 9)),
        (utc(2026, 11, 2, 4, 59), date(2026, 11, 1)),  # 23:59 EST: a 25-hour day
        (utc(2026, 11, 2, 5, 0), date(2026, 11, 2)),
    ],
)
def test_store_local_dates_across_dst(moment, local_date):
    assert store_local_date(store_in(NY), moment) == local_date


def test_special_hours_on_the_day_dst_starts_follow_the_wall_clock():
    special = {date(2026, 3, 8): {"date": "2026-03-08", "open": "10:00", "close": "16:00"}}
    hours = every_day("08:00", "22:00")
    assert not hours_open_at(hours, NY, utc(2026, 3, 8, 13, 59), special)  # 09:59 EDT
    assert hours_open_at(hours, NY, utc(2026, 3, 8, 14, 0), special)  # 10:00 EDT
    assert hours_closing_at(hours, NY, utc(2026, 3, 8, 14, 0), special) == utc(2026, 3, 8, 20, 0)  # 16:00 EDT
    assert not hours_open_at(hours, NY, utc(2026, 3, 8, 20, 0), special)
    assert hours_open_at(hours, NY, utc(2026, 3, 9, 12, 0), special)  # 08:00 EDT the next day: the menu's


def test_a_closed_special_day_lasts_its_whole_25_hour_local_day():
    special = {date(2026, 11, 1): {"date": "2026-11-01", "closed": True}}
    assert not hours_open_at([], NY, utc(2026, 11, 1, 4, 0), special)  # 00:00 EDT
    assert not hours_open_at([], NY, utc(2026, 11, 2, 4, 59), special)  # 23:59 EST
    assert hours_open_at([], NY, utc(2026, 11, 2, 5, 0), special)  # 00:00 EST Nov 2: no hours, always open
    assert hours_open_at([], NY, utc(2026, 10, 31, 12, 0), special)


# --- overnight special hours --------------------------------------------------------------------------


def test_overnight_special_hours_run_past_midnight_into_the_next_date():
    special = {date(2026, 12, 31): {"date": "2026-12-31", "open": "18:00", "close": "02:00"}}
    hours = every_day("10:00", "22:00")
    tz = "UTC"
    assert not hours_open_at(hours, tz, utc(2026, 12, 31, 12, 0), special)  # the menu's 10-22 is replaced
    assert hours_open_at(hours, tz, utc(2026, 12, 31, 19, 0), special)
    assert hours_closing_at(hours, tz, utc(2026, 12, 31, 19, 0), special) == utc(2027, 1, 1, 2, 0)
    assert hours_open_at(hours, tz, utc(2027, 1, 1, 1, 30), special)  # the tail belongs to Dec 31
    assert not hours_open_at(hours, tz, utc(2027, 1, 1, 2, 0), special)
    assert hours_open_at(hours, tz, utc(2027, 1, 1, 10, 0), special)  # Jan 1: the menu's hours again


def test_the_tail_of_a_regular_overnight_opening_survives_a_closed_special_date():
    hours = [{"day": "FRI", "open": "18:00", "close": "02:00"}]
    special = {date(2026, 12, 26): {"date": "2026-12-26", "closed": True}}  # a Saturday
    assert DAYS[date(2026, 12, 25).weekday()] == "FRI"
    assert hours_open_at(hours, "UTC", utc(2026, 12, 26, 1, 0), special)  # Friday's opening, till 02:00
    assert not hours_open_at(hours, "UTC", utc(2026, 12, 26, 2, 0), special)


def test_without_special_hours_the_menu_hours_read_as_before():
    hours = [{"day": "FRI", "open": "18:00", "close": "02:00"}]
    assert hours_open_at(hours, "UTC", utc(2026, 12, 26, 1, 0))
    assert hours_closing_at(hours, "UTC", utc(2026, 12, 25, 20, 0)) == utc(2026, 12, 26, 2, 0)
    assert hours_open_at([], "UTC", utc(2026, 12, 26, 1, 0)) and hours_closing_at([], "UTC", utc(2026, 1, 1)) is None


@pytest.mark.django_db
def test_store_accepting_names_special_hours_as_the_reason():
    store = StoreFactory(timezone=NY)
    MenuFactory(store=store)
    store.special_hours.create(date=date(2026, 12, 25), closed=True)
    store.special_hours.create(date=date(2026, 12, 31), open="10:00", close="16:00")
    assert store_accepting(store, utc(2026, 12, 25, 17, 0)) == (
        False,
        f"special hours: closed all day on 2026-12-25 ({NY})",
    )
    accepting, why = store_accepting(store, utc(2026, 12, 31, 22, 0))  # 17:00 EST
    assert not accepting and why.startswith("special hours: open 10:00-16:00 on 2026-12-31")
    assert store_accepting(store, utc(2026, 12, 31, 20, 0)) == (True, "")  # 15:00 EST
    assert store_accepting(store, utc(2026, 12, 26, 5, 0)) == (True, "")  # 00:00 EST Dec 26: back to the menu's


# --- snoozes ending at midnight -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "midnight"),
    [
        (utc(2026, 3, 7, 20, 0), utc(2026, 3, 8, 5, 0)),  # 15:00 EST -> 00:00 EST
        (utc(2026, 3, 8, 16, 0), utc(2026, 3, 9, 4, 0)),  # 12:00 EDT on the 23-hour day -> 00:00 EDT
        (utc(2026, 11, 1, 17, 0), utc(2026, 11, 2, 5, 0)),  # 12:00 EST on the 25-hour day -> 00:00 EST
        (utc(2026, 11, 2, 4, 59), utc(2026, 11, 2, 5, 0)),  # a minute before midnight
    ],
)
def test_end_of_day_is_the_stores_next_local_midnight(now, midnight):
    store = store_in(NY)
    assert store_end_of_day(store, now) == midnight
    assert snooze_until_parse(store, "end_of_day", now) == midnight


def test_snooze_times_without_an_offset_are_store_local_and_must_be_ahead():
    store, now = store_in(NY), utc(2026, 3, 8, 16, 0)
    assert snooze_until_parse(store, "2026-03-08T23:30:00", now) == utc(2026, 3, 9, 3, 30)
    assert snooze_until_parse(store, "2026-03-08T20:00:00Z", now) == utc(2026, 3, 8, 20, 0)
    for bad in ("2026-03-08T11:00:00", "tomorrow", "2026-13-45T00:00:00", now + timedelta(days=31)):
        with pytest.raises(SnoozeRefused):
            snooze_until_parse(store, bad, now)


@pytest.mark.django_db
def test_a_snooze_ending_at_midnight_is_on_until_the_last_second_and_off_at_midnight():
    store = StoreFactory(timezone=NY)
    midnight = store_end_of_day(store, utc(2026, 11, 1, 17, 0))
    ItemSnooze.objects.create(store=store, kind="item", link_id="itm_1", until=midnight, created_at=utc(2026, 11, 1))
    assert snoozes_active(store, midnight - timedelta(seconds=1)) == {("item", "itm_1"): midnight}
    assert snoozes_active(store, midnight) == {}


def test_the_catalog_shows_snoozes_and_links_unavailable_wins():
    until = utc(2026, 1, 1, 12)
    modifier = {"id": "mod_1", "available": True}
    catalog = {
        "categories": [{"items": [{"id": "itm_1", "available": True}, {"id": "itm_2", "available": False}]}],
        "modifier_groups": [{"modifiers": [modifier]}, {"modifiers": [modifier]}],  # one modifier, two groups
    }
    active = {("item", "itm_1"): until, ("item", "itm_2"): until, ("modifier", "mod_1"): until}
    items = catalog_snoozes_apply(catalog, active)["categories"][0]["items"]
    assert items[0] == {"id": "itm_1", "available": False, "snoozed_until": until}
    assert items[1] == {"id": "itm_2", "available": False, "snoozed_until": None}  # Link's own: no return time
    assert modifier == {"id": "mod_1", "available": False, "snoozed_until": until}

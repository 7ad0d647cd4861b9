"""Availability (issue 26): the record kept with each change, and figures computed from it exactly."""

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from integration.models import AvailabilityChange, AvailabilityDay, LinkReachability, Menu, Store
from integration.models.availability import CAUSES
from integration.selectors.availability import (
    link_api_host,
    store_availability_days,
    stores_availability_totals,
)
from integration.selectors.hours import hours_scheduled_intervals
from integration.services import stores as store_services
from integration.services.availability.rollup import availability_rollup
from integration.services.mp_events.events import store_accepting_announce
from tests.factories import MenuFactory, StoreFactory
from tests.menus import every_day

pytestmark = pytest.mark.django_db

DAY = date(2026, 12, 7)  # a Monday
T0 = datetime(2026, 12, 7, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def change(store, when, cause="", hours=None):
    return AvailabilityChange.objects.create(store=store, at=when, cause=cause, hours=hours or [])


def totals_ok(day):
    assert day.accepting_seconds + sum(day.unavailable_seconds.values()) == day.scheduled_seconds


@pytest.fixture
def store():
    return StoreFactory(timezone="UTC")


def test_pause_on_link_and_by_ops_are_recorded_with_the_change(store):
    menu = MenuFactory(store=store)
    assert not AvailabilityChange.objects.filter(store=store).exists()
    store.refresh_from_db()
    for state in (Menu.State.UNPUBLISHED, Menu.State.PUBLISHED):  # as the menu services change it, then announce
        menu.state = state
        menu.save()
        store_accepting_announce(store)
    user = get_user_model().objects.create(username="olivia", is_staff=True)
    store_services.store_pause(store, user=user, reason="kitchen fire")
    store_services.store_resume(Store.objects.get(pk=store.pk), user=user)
    rows = list(AvailabilityChange.objects.filter(store=store).order_by("id").values_list("cause", "actor"))
    assert rows == [("no_menu", "Link (menu)"), ("", ""), ("paused_by_ops", "ops: olivia"), ("", "")]


def test_a_day_adds_up_and_counts_each_cause(store):
    hours = every_day("08:00", "20:00")
    change(store, at(-30), "", hours)
    change(store, at(9), "paused_on_link", hours)
    change(store, at(10), "", hours)
    change(store, at(12), "paused_by_ops", hours)
    change(store, at(12.5), "", hours)
    change(store, at(21), "disconnected", hours)  # outside hours: not scheduled, not down
    LinkReachability.objects.create(host=link_api_host(), at=at(15), reachable=False)
    LinkReachability.objects.create(host=link_api_host(), at=at(15.25), reachable=True)
    (day,) = store_availability_days(store, DAY, DAY, now=at(30))
    assert day.scheduled_seconds == 12 * 3600
    assert day.unavailable_seconds == {
        "paused_on_link": 3600,
        "paused_by_ops": 1800,
        "disconnected": 0,
        "no_menu": 0,
        "link_unreachable": 900,
    }
    totals_ok(day)


def test_link_unreachable_only_while_the_store_would_otherwise_accept(store):
    change(store, at(-1), "", [])
    change(store, at(2), "paused_on_link", [])
    change(store, at(3), "", [])
    LinkReachability.objects.create(host=link_api_host(), at=at(1), reachable=False)
    LinkReachability.objects.create(host=link_api_host(), at=at(4), reachable=True)
    LinkReachability.objects.create(host="menus.example", at=at(5), reachable=False)  # another host: not Link's API
    (day,) = store_availability_days(store, DAY, DAY, now=at(30))
    assert day.unavailable_seconds["paused_on_link"] == 3600
    assert day.unavailable_seconds["link_unreachable"] == 2 * 3600
    assert day.scheduled_seconds == 86400
    totals_ok(day)


def test_today_counts_up_to_now_and_future_days_count_zero(store):
    change(store, at(-1), "", [])
    days = store_availability_days(store, DAY, DAY + timedelta(days=1), now=at(6.5))
    assert [d.scheduled_seconds for d in days] == [6.5 * 3600, 0]


def test_before_the_first_record_and_unmapped_time_are_not_scheduled(store):
    change(store, at(6), "", [])
    change(store, at(10), "unmapped", [])
    (day,) = store_availability_days(store, DAY, DAY, now=at(30))
    assert day.scheduled_seconds == day.accepting_seconds == 4 * 3600


def test_overnight_hours_count_on_each_side_of_midnight():
    hours = [{"day": "SUN", "open": "18:00", "close": "02:00"}]
    monday = hours_scheduled_intervals(hours, "UTC", DAY)
    sunday = hours_scheduled_intervals(hours, "UTC", DAY - timedelta(days=1))
    assert monday == ((at(0), at(2)),)
    assert sunday == ((at(-6), at(0)),)


def test_store_local_days_follow_the_time_zone_and_dst():
    store = StoreFactory(timezone="America/New_York")
    change(store, datetime(2026, 3, 1, tzinfo=UTC), "", [])
    (short,) = store_availability_days(store, date(2026, 3, 8), date(2026, 3, 8), now=datetime(2026, 4, 1, tzinfo=UTC))
    assert short.scheduled_seconds == 23 * 3600  # the spring-forward day


def test_random_histories_always_add_up(store):
    rng = random.Random(26)
    when = at(-24)
    causes = ["", "paused_on_link", "paused_by_ops", "disconnected", "no_menu", "unmapped"]
    for _ in range(200):
        when += timedelta(seconds=rng.randint(1, 4000), microseconds=rng.randint(0, 999999))
        change(store, when, rng.choice(causes), every_day("07:13", "23:41") if rng.random() < 0.5 else [])
    reach = at(-24)
    for n in range(40):
        reach += timedelta(seconds=rng.randint(1, 9000), microseconds=rng.randint(0, 999999))
        LinkReachability.objects.create(host=link_api_host(), at=reach, reachable=bool(n % 2))
    for day in store_availability_days(store, DAY - timedelta(days=1), DAY + timedelta(days=9), now=at(24 * 9.5)):
        totals_ok(day)
        assert all(v >= 0 for v in day.unavailable_seconds.values())


def test_the_rollup_writes_what_the_live_read_computes_and_totals_use_it(store):
    other = StoreFactory(timezone="Asia/Tokyo")
    for s in (store, other):
        change(s, at(-48), "", every_day("09:00", "17:00"))
        change(s, at(-20), "paused_on_link", every_day("09:00", "17:00"))
        change(s, at(-19), "", every_day("09:00", "17:00"))
    now = at(12)
    live = stores_availability_totals(DAY - timedelta(days=3), DAY, now=now)
    written = availability_rollup(now=now)
    assert written >= 4
    for s in (store, other):
        for row in AvailabilityDay.objects.filter(store=s):
            (day,) = store_availability_days(s, row.date, row.date, now=now)
            assert row.scheduled_seconds == day.scheduled_seconds
            assert {c: getattr(row, c) for c in CAUSES} == day.unavailable_seconds
    assert availability_rollup(now=now) == 0  # nothing left to do
    rolled = stores_availability_totals(DAY - timedelta(days=3), DAY, now=now)
    key = lambda t: (t.store.pk, t.scheduled_seconds, t.accepting_seconds, t.unavailable_seconds)  # noqa: E731
    assert sorted(map(key, live)) == sorted(map(key, rolled))


def test_worst_first(store):
    good = StoreFactory(timezone="UTC")
    change(good, at(-1), "", [])
    change(store, at(-1), "", [])
    change(store, at(1), "no_menu", [])
    totals = stores_availability_totals(DAY, DAY, now=at(5))
    assert [t.store.pk for t in totals] == [store.pk, good.pk]
    assert totals[0].unavailable_seconds["no_menu"] == 4 * 3600


def test_fixed_query_counts(store, django_assert_num_queries):
    for n in range(30):
        s = StoreFactory(timezone="UTC")
        change(s, at(-50), "", [])
        change(s, at(-30 + n % 5), "paused_on_link", [])
        change(s, at(-28 + n % 5), "", [])
    availability_rollup(now=at(10))
    with django_assert_num_queries(3):  # the changes, Link's reachability, the special hours
        store_availability_days(store, DAY - timedelta(days=91), DAY, now=at(10))
    with django_assert_num_queries(6):
        stores_availability_totals(DAY - timedelta(days=6), DAY, now=at(10))

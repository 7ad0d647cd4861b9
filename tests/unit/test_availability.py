"""Availability (issue 26): the record kept with each change, and figures computed from it exactly."""

import random
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from integration.locks import advisory_xact_lock
from integration.models import (
    AvailabilityChange,
    AvailabilityDay,
    AvailabilityLiveDay,
    LinkReachability,
    Menu,
    Store,
)
from integration.models.availability import CAUSES
from integration.selectors.availability import (
    link_api_host,
    store_availability_days,
    stores_availability_ranked,
    stores_availability_totals,
)
from integration.selectors.hours import hours_scheduled_intervals
from integration.services import stores as store_services
from integration.services.availability import rollup
from integration.services.availability.rollup import availability_rollup, availability_rollup_live
from integration.services.mp_events.events import store_accepting_announce
from tests.factories import MenuFactory, StoreFactory
from tests.menus import every_day
from tests.waiting import wait_until_blocked

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
    with django_assert_num_queries(4):  # the ranking with the final sums, then today: changes, Link, special hours
        stores_availability_totals(DAY - timedelta(days=6), DAY, now=at(10))
    ranked = stores_availability_ranked(DAY - timedelta(days=6), DAY, now=at(10))
    with django_assert_num_queries(1):
        assert ranked.count() == 31
    with django_assert_num_queries(4):  # a page: the same four, whatever the number of stores
        assert len(ranked[10:20]) == 10
    past = stores_availability_ranked(DAY - timedelta(days=7), DAY - timedelta(days=1), now=at(10))
    with django_assert_num_queries(1):  # every day rolled up: the ranking alone
        assert len(past[0:10]) == 10
    # the savepoint, the lock, the stores, the watermarks, the changes, Link, special hours, the upsert, the release
    with django_assert_num_queries(9):
        availability_rollup_live(now=at(10))


def exact(s, first, last, now):
    """A store's totals as the one-store read computes them, day by day."""
    days = store_availability_days(s, first, last, now=now)
    return (
        sum(d.scheduled_seconds for d in days),
        sum(d.accepting_seconds for d in days),
        {c: sum(d.unavailable_seconds[c] for d in days) for c in CAUSES},
    )


def figures(t):
    return (t.scheduled_seconds, t.accepting_seconds, t.unavailable_seconds)


def test_the_live_rollup_writes_provisional_days_the_final_one_replaces(store):
    change(store, at(-48), "", every_day("09:00", "17:00"))
    change(store, at(-10), "paused_on_link", every_day("09:00", "17:00"))
    change(store, at(-9), "", every_day("09:00", "17:00"))
    change(store, at(10), "no_menu", every_day("09:00", "17:00"))
    availability_rollup(now=at(1))  # through yesterday
    assert availability_rollup_live(now=at(12)) == 1  # today only: yesterday is final
    (today,) = AvailabilityLiveDay.objects.filter(store=store)
    assert (today.date, today.as_of) == (DAY, at(12))
    (live,) = store_availability_days(store, DAY, DAY, now=at(12))
    assert (today.scheduled_seconds, today.accepting_seconds, today.no_menu) == (3 * 3600, 3600, 2 * 3600)
    assert today.scheduled_seconds == live.scheduled_seconds and today.no_menu == live.unavailable_seconds["no_menu"]
    assert AvailabilityDay.objects.get(store=store, date=DAY - timedelta(days=1)).paused_on_link == 3600
    availability_rollup_live(now=at(13))  # rewritten, never the final day
    assert AvailabilityLiveDay.objects.get(store=store, date=DAY).as_of == at(13)
    assert not AvailabilityDay.objects.filter(store=store, date=DAY).exists()
    availability_rollup(now=at(24.5))  # the day is over: its final row replaces the provisional one
    final = AvailabilityDay.objects.get(store=store, date=DAY)
    assert final.no_menu == 7 * 3600 and not AvailabilityLiveDay.objects.filter(store=store, date=DAY).exists()
    assert final.accepting_seconds + sum(getattr(final, c) for c in CAUSES) == final.scheduled_seconds


def test_the_list_orders_by_the_rollup_and_returns_exact_figures(store):
    """Pages are cut in SQL over the rolled-up rows (today's as of the live rollup); each store's figures are
    computed exactly up to now; a store going down after the live rollup moves up at the next one."""
    stores = [store] + [StoreFactory(timezone=tz) for tz in ("UTC", "America/New_York", "Asia/Tokyo", "UTC")]
    for n, s in enumerate(stores):
        change(s, at(-72), "", every_day("06:00", "23:00"))
        change(s, at(-40), "paused_on_link", every_day("06:00", "23:00"))
        change(s, at(-40 + 0.25 * (n + 1)), "", every_day("06:00", "23:00"))  # 15 to 75 minutes
    late = stores[1]  # 30 minutes down until today, the fourth worst
    first, last = DAY - timedelta(days=2), DAY
    availability_rollup(now=at(9))
    availability_rollup_live(now=at(9))
    change(late, at(9.5), "disconnected", every_day("06:00", "23:00"))  # after the live rollup
    now = at(12)
    ranked = stores_availability_ranked(first, last, now=now)
    pages = [t for n in range(0, 5, 2) for t in ranked[n : n + 2]]
    assert len(pages) == ranked.count() == 5
    for t in pages:  # every figure exact, up to now
        s = Store.objects.get(pk=t.store.pk)
        assert figures(t) == exact(s, first, last, now)
        assert t.accepting_seconds + t.unavailable_total == t.scheduled_seconds
    assert pages[0].store.pk != late.pk  # ordered as of the live rollup: it went down later
    availability_rollup_live(now=now)
    ranked = stores_availability_ranked(first, last, now=now)
    assert ranked[0].store.pk == late.pk and ranked[0].unavailable_seconds["disconnected"] == 2.5 * 3600
    every = stores_availability_totals(first, last, now=now)  # exact, sorted by the exact figures
    assert [t.store.pk for t in ranked[0:5]] == [t.store.pk for t in every]
    assert [figures(t) for t in ranked[1:3]] == [figures(t) for t in every[1:3]]


def test_the_alert_evaluation_task_writes_the_provisional_days(store):
    from integration import tasks

    change(store, timezone.now() - timedelta(days=1), "", [])
    result = tasks.alerts_evaluate()
    assert result["availability_live_days"] >= 1
    assert AvailabilityLiveDay.objects.filter(store=store).exists()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_day_made_final_while_the_live_rollup_runs_stays_final(monkeypatch):
    """The live rollup reads the watermarks and writes under the rollup's lock: the final rollup's write of a
    day waits for it, then replaces its provisional row (never the other way round)."""
    store = StoreFactory(timezone="UTC")
    change(store, at(-48), "", [])
    change(store, at(-10), "paused_on_link", [])  # yesterday, an hour
    change(store, at(-9), "", [])
    availability_rollup(now=at(-23))  # through the day before yesterday
    now = at(0.1)  # yesterday is over (past the grace): the final rollup writes it
    original = rollup.stores_availability_days
    computing = threading.Event()

    def live_waits_for_the_final_write(*args, **kwargs):
        if "end_states" not in kwargs:  # the live rollup, holding the lock
            computing.set()
            wait_until_blocked()  # the final rollup's write waits on its lock
        return original(*args, **kwargs)

    monkeypatch.setattr(rollup, "stores_availability_days", live_waits_for_the_final_write)
    results = {}

    def run(name, task):
        try:
            results[name] = task(now=now)
        finally:
            connection.close()

    live = threading.Thread(target=run, args=("live", rollup.availability_rollup_live))
    final = threading.Thread(target=run, args=("final", rollup.availability_rollup))
    live.start()
    assert computing.wait(10)
    final.start()
    for t in (live, final):
        t.join(20)
    assert results == {"live": 2, "final": 1}  # live: yesterday and today, provisional; final: yesterday
    assert AvailabilityDay.objects.get(store=store, date=DAY - timedelta(days=1)).paused_on_link == 3600
    assert list(AvailabilityLiveDay.objects.filter(store=store).values_list("date", "as_of")) == [(DAY, now)]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_live_rollup_skips_a_turn_while_the_final_one_writes():
    store = StoreFactory(timezone="UTC")
    change(store, at(-48), "", [])
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                advisory_xact_lock(rollup._LOCK)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    try:
        assert rollup.availability_rollup_live(now=at(10)) is None
        assert not AvailabilityLiveDay.objects.exists()
    finally:
        release.set()
        holder.join(10)
    assert rollup.availability_rollup_live(now=at(10)) == 2


def test_no_day_counts_twice_in_the_order(store):
    """A live row of a day the final rollup has written is gone with it (same transaction): the ranking sums
    each day once, from one table or the other."""
    change(store, at(-48), "", [])
    change(store, at(-10), "no_menu", [])
    change(store, at(-9), "", [])
    assert availability_rollup_live(now=at(0.01)) == 2  # no watermark yet: yesterday and today, live
    availability_rollup(now=at(0.1))  # yesterday final now
    assert list(AvailabilityLiveDay.objects.filter(store=store).values_list("date", flat=True)) == [DAY]
    (worst,) = stores_availability_ranked(DAY - timedelta(days=1), DAY, now=at(0.1))[0:1]
    assert worst.unavailable_seconds["no_menu"] == 3600

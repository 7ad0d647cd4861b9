"""Issue 16: the trends charts read an hourly rollup for the older hours and compute the rest live, and
give exactly what the grouped queries over every order gave (``tests/trends_reference.py``)."""

import importlib
from dataclasses import fields
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from integration import tasks
from integration.models import CallAttempt, Order, TrendHour, TrendRollup
from integration.selectors.trend_hours import HOUR, STALE, floor_hour
from integration.selectors.trends import Trends, trends
from integration.services.ops import trends as rollup
from integration.services.ops.trends import trends_backfill, trends_rollup
from integration.services.orders.transitions import move, order_save
from tests.ops_data import week_world
from tests.trends_reference import trends_by_grouped_queries

pytestmark = pytest.mark.django_db
S = Order.State


def assert_same_charts(got: Trends, expected: Trends) -> None:
    for f in fields(Trends):
        if f.name not in ("live_hours", "rollup", "rollup_stale"):  # where the figures came from
            assert getattr(got, f.name) == getattr(expected, f.name), f.name


@pytest.fixture
def now():
    return timezone.now()


def test_rolled_up_hours_plus_live_ones_equal_the_grouped_queries_over_every_order(now):
    stores = week_world(600, now)
    trends_backfill(now - timedelta(days=8))
    for range_key in ("24h", "7d"):
        got = trends(range_key, now=now)
        assert got.live_hours == 2  # the range's cut first hour and the current one
        assert_same_charts(got, trends_by_grouped_queries(range_key, now=now))
        assert_same_charts(trends(range_key, stores[1], now=now), trends_by_grouped_queries(range_key, stores[1], now))
    assert sum(sum(values) for values in trends("7d", now=now).orders.values()) > 400


def test_an_order_changed_after_its_hour_was_rolled_up_is_recounted(now):
    week_world(200, now)
    trends_backfill(now - timedelta(days=8))
    order = Order.objects.filter(state=S.CONFIRMED, placed_at__lt=now - timedelta(hours=5)).order_by("-placed_at")[0]
    hour = floor_hour(order.placed_at)
    before = TrendHour.objects.get(hour=hour)
    move(order, "cancel", "test")  # the state is protected: only a transition changes it
    order_save(order)

    # The charts see it at once: the hour is computed live until the rollup has redone it.
    got = trends("24h", now=now)
    assert got.live_hours == 3
    assert_same_charts(got, trends_by_grouped_queries("24h", now=now))
    assert TrendHour.objects.get(hour=hour).cancelled == before.cancelled

    run = trends_rollup(now=timezone.now())
    assert run.order_hours >= 1 and not run.behind
    row = TrendHour.objects.get(hour=hour)
    assert (row.open, row.cancelled) == (before.open - 1, before.cancelled + 1)
    assert trends("24h", now=now).live_hours == 3  # a change stays live for LAG after it (late commits)
    later = timezone.now() + rollup.LAG + timedelta(seconds=1)
    trends_rollup(now=later)
    got = trends("24h", now=later)
    assert got.live_hours == 2
    assert_same_charts(got, trends_by_grouped_queries("24h", now=later))


def test_a_first_run_starts_at_the_current_hour_and_calls_roll_up_once_their_hour_is_over():
    now = floor_hour(timezone.now()) + timedelta(minutes=30)  # orders in the current hour, whatever the clock
    week_world(100, now, days=1)
    trends_rollup(now=now)
    state = TrendRollup.objects.get()
    assert state.covered_from == floor_hour(now) and state.calls_until == floor_hour(now)
    assert set(TrendHour.objects.values_list("hour", flat=True)) <= {floor_hour(now)}
    assert trends("24h", now=now).live_hours == 25  # nothing older is rolled up yet: all live, and exact
    assert_same_charts(trends("24h", now=now), trends_by_grouped_queries("24h", now=now))

    an_hour_later = floor_hour(now) + timedelta(hours=1, minutes=rollup.CALLS_SETTLE.seconds // 60 + 1)
    assert trends_rollup(now=an_hour_later).call_hours == 1
    row = TrendHour.objects.get(hour=floor_hour(now))
    tries = CallAttempt.objects.filter(started_at__gte=floor_hour(now), started_at__lt=floor_hour(now) + HOUR)
    assert row.call_tries == tries.count() and row.calls_at == an_hour_later


def test_a_stale_rollup_is_not_read_and_a_run_too_far_behind_leaves_it_to_the_backfill(now, monkeypatch):
    week_world(200, now)
    trends_backfill(now - timedelta(days=2))
    assert trends("24h", now=now).live_hours == 2
    stale = now + STALE + timedelta(minutes=1)
    got = trends("24h", now=stale)
    assert got.live_hours == len(got.hours)
    assert_same_charts(got, trends_by_grouped_queries("24h", now=stale))

    monkeypatch.setattr(rollup, "MAX_HOURS_PER_RUN", 1)
    for order in Order.objects.filter(placed_at__gte=now - timedelta(hours=6)):
        order.save()
    seen = TrendRollup.objects.get().orders_seen
    assert trends_rollup().behind >= 2
    assert TrendRollup.objects.get().orders_seen == seen


@pytest.mark.parametrize(
    ("covered_from", "calls_until", "start", "calls_end", "expected"),
    [
        (10, 12, 2, 15, 15),  # the backfill reaches past what the runs did
        (10, 16, 2, 15, 16),  # the runs did more
        (10, 10, 2, 9, 9),  # the runs began within the hour: the backfill's end
        (10, 12, 11, 15, 15),  # a backfill inside the coverage, joined
        (10, 12, 13, 15, 12),  # leaving a gap: only what is joined
    ],
)
def test_the_call_hours_claimed_after_a_backfill_have_no_gap(covered_from, calls_until, start, calls_end, expected):
    assert rollup._calls_until(covered_from, calls_until, start, calls_end) == expected


def test_backfill_command_says_what_it_would_do_then_does_it(now, capsys):
    week_world(120, now, days=3)
    out = StringIO()
    call_command("link_trends_backfill", "--since", "2d", "--dry-run", stdout=out, stderr=StringIO())
    assert "49 hours from" in out.getvalue() and "(dry run)" in out.getvalue()
    assert not TrendHour.objects.exists() and not TrendRollup.objects.exists()
    out = StringIO()
    call_command("link_trends_backfill", "--since", "2d", stdout=out)
    assert "49 hours from" in out.getvalue() and "rolled up." in out.getvalue()
    assert "hours rolled up: 100%" in capsys.readouterr().err  # the progress bar
    assert TrendHour.objects.count() >= 40
    assert TrendRollup.objects.get().covered_from == floor_hour(timezone.now() - timedelta(days=2))


def test_the_rollup_runs_every_minute_from_a_schedule(now):
    migration = importlib.import_module("integration.migrations.0015_trend_rollup")
    Schedule.objects.filter(name="linkbridge-trends-rollup").delete()  # a transactional test may have flushed it
    migration.create_schedule(django_apps, None)
    schedule = Schedule.objects.get(name="linkbridge-trends-rollup")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == ("integration.tasks.trends_rollup", "I", 1)
    week_world(20, now, days=1)
    assert tasks.trends_rollup() == {"order_hours": 0, "call_hours": 0, "behind": 0}
    assert TrendRollup.objects.get().covered_from == floor_hour(timezone.now())


def test_mp_deliveries_per_second_come_from_the_rollup_and_live_hours_alike(now):
    from integration.models import NotificationEvent, OutboundCall, WebhookEndpoint
    from tests.order_fixtures import api_user

    endpoint = WebhookEndpoint.objects.create(client=api_user(), url="https://hooks.mp.test/in", event_types=[])
    for hours_ago, outcome in [(5, "success"), (5, "success"), (5, "retriable"), (0, "success")]:
        event = NotificationEvent.objects.create(type="menu.updated", timestamp=now, data={})
        call = OutboundCall.objects.create(
            kind="deliver_event", endpoint=endpoint, event=event, next_attempt_at=now, deadline=now
        )
        CallAttempt.objects.create(
            call=call, number=1, started_at=now - timedelta(hours=hours_ago), request_url=endpoint.url, outcome=outcome
        )
    trends_backfill(now - timedelta(days=1))
    assert TrendHour.objects.get(hour=floor_hour(now - timedelta(hours=5))).deliveries == 2
    got = trends("24h", now=now)
    assert_same_charts(got, trends_by_grouped_queries("24h", now=now))
    assert got.deliveries_per_second[got.hours.index(floor_hour(now - timedelta(hours=5)))] == 2 / 3600
    assert got.deliveries_per_second[-1] > 0  # the current hour, live: one so far

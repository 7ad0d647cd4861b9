"""Issue 13: Link health at the top of the dashboard, live, and failed-call counts that can be cleared."""

import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integration.models import CallAttempt, LinkCircuit, Order, OutboundCall, WebhookEvent
from integration.selectors.link_health import link_health
from integration.services.outbox.circuit import fresh
from tests.factories import OutboundCallFactory, StoreFactory
from tests.ops_data import ops_world

pytestmark = pytest.mark.django_db

LIVE = "/admin/live/"


def tries(call, outcomes: str, *, start: timedelta, step=timedelta(seconds=2)) -> None:
    """One CallAttempt per letter of ``outcomes`` (s: success, r: retriable, p: permanent), oldest first."""
    now = timezone.now()
    codes = {"s": (CallAttempt.Outcome.SUCCESS, 201), "r": (CallAttempt.Outcome.RETRIABLE, 503)}
    codes["p"] = (CallAttempt.Outcome.PERMANENT, 422)
    first = call.call_attempts.count()
    CallAttempt.objects.bulk_create(
        CallAttempt(
            call=call,
            number=first + n + 1,
            started_at=now - start + n * step,
            request_method="POST",
            request_url="http://link/v2/orders",
            outcome=codes[letter][0],
            status_code=codes[letter][1],
        )
        for n, letter in enumerate(outcomes)
    )


@pytest.fixture
def call():
    return OutboundCallFactory(store=StoreFactory())


def test_link_down_when_most_of_the_latest_tries_failed_and_the_last_one_too(call):
    tries(call, "ssssssssss", start=timedelta(minutes=10))
    assert link_health().level == "ok"
    tries(call, "rrrrrrrrr", start=timedelta(seconds=30))
    health = link_health()
    assert health.level == "down"
    assert "9 of our last 10 calls to it failed (HTTP 503)" in health.headline
    assert (health.failed_5m, health.tries_5m, health.share_5m) == (9, 9, 100)
    assert (health.failed_15m, health.tries_15m, health.share_15m) == (9, 19, 47)


def test_link_back_as_soon_as_a_try_succeeds_after_the_outage(call):
    tries(call, "rrrrrrrrrr", start=timedelta(seconds=25), step=timedelta(seconds=1))
    assert link_health().level == "down"
    tries(call, "s", start=timedelta(seconds=1))
    assert link_health().level == "degraded"  # failures within the last 30 s: amber, no longer red
    tries(call, "sssssssss", start=timedelta(seconds=0), step=timedelta(milliseconds=1))
    assert link_health().level == "ok"  # the latest ten all succeeded and nothing waits


def test_health_tells_the_present_a_quiet_night_after_an_outage_is_ok_within_a_minute(call):
    """Issue 25: five orders, an outage, then Link answers and nothing waits: OK (not "5 of our last 10
    calls failed" for fifteen minutes), with the outage as a note."""
    tries(call, "sssss", start=timedelta(minutes=6), step=timedelta(seconds=20))
    tries(call, "rrrrr", start=timedelta(minutes=4), step=timedelta(seconds=20))  # about 2 min down
    tries(call, "s", start=timedelta(seconds=40))
    call.status = OutboundCall.Status.SUCCEEDED
    call.save()
    health = link_health()
    assert health.level == "ok", health.headline
    assert health.outage and health.outage.was_down and health.outage.failed_tries == 5
    assert health.outage.calls >= 1 and health.outage.calls_failed == 0
    assert "Link answers" in health.headline


def test_the_banner_is_amber_while_held_calls_drain_and_says_how_the_outage_went(client, ops, call):
    tries(call, "rrrrrr", start=timedelta(minutes=3), step=timedelta(seconds=20))
    tries(call, "s", start=timedelta(seconds=40))
    held = OutboundCallFactory(store=call.store, waiting_on="link.example", waiting_since=timezone.now())
    assert link_health().level == "degraded"
    assert "still wait to be sent" in link_health().headline
    held.status = OutboundCall.Status.SUCCEEDED
    held.waiting_since = None
    held.save()
    call.status = OutboundCall.Status.SUCCEEDED
    call.save()
    html = client.get(LIVE).content.decode()
    assert 'data-level="ok"' in html
    note = re.search(r'id="health-recovered">(.*?)</p>', html, re.S).group(1)
    assert re.search(
        r"Recovered at <time [^>]+>\d\d:\d\d:\d\d UTC</time> after \d+ min down \(\d+ calls? held, 0 failed\)", note
    )


def test_the_circuit_table_shows_only_while_a_circuit_says_something(client, ops):
    from integration.selectors.link_health import circuits_worth_showing
    from integration.services.outbox.circuit import CircuitStatus

    now = timezone.now()
    base = {"failures": 0, "probes": 0, "probe_in_flight": False, "probe_due": False, "paused_until": None}
    base.update(draining=False, drain_total=0, drain_until=None)
    hour_ago, minute_ago = now - timedelta(hours=1), now - timedelta(minutes=1)
    closed_long_ago = CircuitStatus(host="a", state="closed", since=hour_ago, closed_at=hour_ago, **base)
    closed_lately = CircuitStatus(host="b", state="closed", since=minute_ago, closed_at=minute_ago, **base)
    open_now = CircuitStatus(host="c", state="open", since=minute_ago, closed_at=None, **base)
    shown = circuits_worth_showing([closed_long_ago, closed_lately, open_now], now)
    assert [c.host for c in shown] == ["b", "c"]


def test_a_few_failures_are_degraded_not_down_and_old_tries_do_not_count(call):
    tries(call, "rrrrrrrrrr", start=timedelta(minutes=20))
    assert link_health().level == "quiet"
    tries(call, "ssrsssrsss", start=timedelta(seconds=40))
    assert link_health().level == "degraded"
    tries(call, "sssrrrsrr", start=timedelta(seconds=10))  # the latest failed, but not 80% of the last 10
    assert link_health().level == "degraded"


def test_orders_not_yet_at_link_and_not_yet_confirmed_are_aged_from_the_oldest():
    store = StoreFactory()
    now = timezone.now()
    Order.objects.create(store=store, placed_at=now - timedelta(minutes=3))  # not at Link
    Order.objects.create(store=store, placed_at=now - timedelta(minutes=1))  # not at Link
    Order.objects.create(store=store, placed_at=now - timedelta(minutes=9), link_order_id="ord_1")  # at Link
    Order.objects.create(store=store, placed_at=now - timedelta(hours=1), state="READY", link_order_id="ord_2")
    WebhookEvent.objects.create(event_id="evt_1", type="order.confirmed", body="{}")
    health = link_health(now)
    assert health.not_at_link == 2 and health.oldest_not_at_link == now - timedelta(minutes=3)
    assert health.unconfirmed == 3 and health.oldest_unconfirmed == now - timedelta(minutes=9)
    assert health.last_event_at is not None


def test_calls_being_retried_are_pending_calls_tried_before(call):
    OutboundCallFactory(store=call.store, attempts=2)
    OutboundCallFactory(store=call.store, attempts=1, status=OutboundCall.Status.FAILED)
    assert link_health().retrying == 1


def test_dashboard_shows_link_health_first_and_its_live_part_alone(client, ops, call):
    tries(call, "rrrrrrrrrr", start=timedelta(seconds=30))
    page = client.get("/admin/").content.decode()
    assert 'data-level="down"' in page
    assert page.index('id="link-health"') < page.index('id="ops-dashboard"')
    assert "/static/django_htmx/htmx-2.min.js" in page
    live = client.get(LIVE).content.decode()
    assert live.lstrip().startswith('<div id="ops-live"') and 'hx-trigger="every 5s"' in live
    assert 'data-level="down"' in live and "as of " in live
    assert "<html" not in live
    assert re.search(r'data-attention="(\d+)"', live).group(1) != "0"


def test_support_sees_link_health_a_user_without_calls_does_not(client, support):
    assert 'id="link-health"' in client.get(LIVE).content.decode()


def test_live_part_needs_a_login(client):
    assert client.get(LIVE).status_code == 302


def test_link_health_takes_the_same_queries_at_two_sizes(client, ops):
    ops_world(5, paused_by=ops, prefix="a")
    with CaptureQueriesContext(connection) as small:
        assert client.get(LIVE).status_code == 200
    ops_world(45, paused_by=ops, prefix="b")
    with CaptureQueriesContext(connection) as large:
        assert client.get(LIVE).status_code == 200
    assert len(small) == len(large)


def failed_calls_card(client) -> int:
    html = client.get(LIVE).content.decode()
    return int(re.search(r'id="card-outboundcall-failed" data-count="(\d+)"', html).group(1))


def test_a_failed_call_stops_counting_once_a_later_one_settles_it(client, ops):
    store = StoreFactory()
    now = timezone.now()
    failed = {"status": OutboundCall.Status.FAILED, "completed_at": now, "store": store}
    OutboundCallFactory(**failed)  # a pause
    order = Order.objects.create(store=store, placed_at=now, state="FAILED")
    OutboundCallFactory(kind=OutboundCall.Kind.SUBMIT_ORDER, order=order, **failed)
    assert failed_calls_card(client) == 2
    OutboundCallFactory(**failed)  # the pause failed again: the newer one counts instead
    assert failed_calls_card(client) == 2
    OutboundCallFactory(store=store, status=OutboundCall.Status.SUCCEEDED, completed_at=now)  # then went through
    assert failed_calls_card(client) == 1
    Order.objects.filter(pk=order.pk).update(link_order_id="ord_late")  # Link had the order after all
    assert failed_calls_card(client) == 0


def test_each_link_hosts_circuit_shows_on_the_health_panel(client, ops):
    opened = time.time() - 90
    LinkCircuit.objects.create(
        host="127.0.0.1:8100", state={**fresh().to_json(), "state": "open", "since": opened, "failures": 7}
    )
    html = client.get(LIVE).content.decode()
    row = re.search(r'<tr class="circuit-open">(.*?)</tr>', html, re.S).group(1)
    assert "127.0.0.1:8100" in row and "1 min 30 s ago" in row and "<td>7</td>" in row

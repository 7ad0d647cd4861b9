"""The outbox under a Link outage or rate limit (issue 12): held calls, one probe, the drain, deadlines."""

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from integration.models import CallAttempt, Order, OutboundCall
from integration.services.orders.recovery import order_retry_submission, orders_cancel_unconfirmed
from integration.services.outbox import circuit
from integration.services.outbox.backlog import backlog_status
from integration.services.outbox.calls import call_deliver
from integration.services.outbox.drain import calls_drain
from integration.services.outbox.sweep import calls_expire, calls_sweep
from tests.conftest import LINK
from tests.factories import OutboundCallFactory
from tests.order_fixtures import link_takes, make_store, place, submit_call

pytestmark = pytest.mark.django_db

HOST = "link.test"
PAUSE_URL = f"{LINK}/v2/venues/ven_1/pause"


@pytest.fixture
def down(mocked_link, settings):
    """Link answers 503 to every pause call; two failures in a row open the circuit; a call's own next
    try is seconds away, so each call_deliver(inline_wait=0) makes one try at most."""
    settings.LINK_CIRCUIT_FAILURES = 2
    settings.LINK_CIRCUIT_PROBE_INTERVAL = 60
    settings.LINK_RETRY_BASE = settings.LINK_RETRY_MAX = 10
    mocked_link.add(responses.POST, PAUSE_URL, status=503, json={"error": {"code": "unavailable"}})
    return mocked_link


def link_calls(rsps) -> int:
    return sum("/v2/" in c.request.url for c in rsps.calls)


def open_circuit(rsps) -> None:
    for _ in range(2):
        call_deliver(OutboundCallFactory().pk, inline_wait=0)
    assert circuit.circuit_status(HOST).state == circuit.CircuitMode.OPEN
    assert link_calls(rsps) == 2


def shift_circuit(**changes) -> None:
    """Move the circuit's clock: e.g. make the next probe due now, or the outage older."""
    circuit.circuit_store().change(HOST, lambda state: state.update(changes))


def test_an_open_circuit_holds_calls_untried_and_shows_them(down):
    open_circuit(down)
    held = OutboundCallFactory()
    assert call_deliver(held.pk) == 0
    held.refresh_from_db()
    assert held.status == OutboundCall.Status.PENDING and held.attempts == 0 and not held.call_attempts.exists()
    assert held.waiting_on == HOST and held.waiting_since is not None
    assert link_calls(down) == 2
    (status,) = backlog_status()
    assert (status.circuit.state, status.waiting, status.oldest_waiting_since) == ("open", 1, held.waiting_since)


def test_one_probe_then_success_closes_it_and_pulls_the_held_calls_forward_oldest_first(down, no_broker, settings):
    settings.LINK_DRAIN_RATE = 1  # the drain of two calls lasts 2 s
    open_circuit(down)
    first, second = OutboundCallFactory(), OutboundCallFactory()
    call_deliver(second.pk)
    call_deliver(first.pk)
    shift_circuit(next_probe_at=0)
    down.replace(responses.POST, PAUSE_URL, json={"status": "PAUSED"})
    probe = OutboundCallFactory()
    no_broker.clear()
    assert call_deliver(probe.pk) == 1
    assert no_broker == ["drain", "drain"]  # a drain loop per held call, up to one per worker
    first.refresh_from_db()
    assert first.waiting_on == "" and first.next_attempt_at == first.created_at  # due, and first in line
    status = circuit.circuit_status(HOST)
    assert status.state == circuit.CircuitMode.CLOSED and status.draining and status.drain_total == 2
    assert calls_drain() == 2  # one loop sends both, a second apart (LINK_DRAIN_RATE)
    assert (
        list(OutboundCall.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True))
        == ["SUCCEEDED"] * 2
    )
    assert backlog_status()[0].drained == 2


def test_the_drain_sends_the_oldest_first(down, settings):
    settings.LINK_DRAIN_RATE = 0
    open_circuit(down)
    held = [OutboundCallFactory() for _ in range(3)]
    for call in reversed(held):
        call_deliver(call.pk)
    shift_circuit(next_probe_at=0)
    down.replace(responses.POST, PAUSE_URL, json={"status": "PAUSED"})
    call_deliver(OutboundCallFactory().pk)
    calls_drain()
    order = list(CallAttempt.objects.filter(call__in=held).order_by("started_at").values_list("call_id", flat=True))
    assert order == [c.pk for c in held]


def test_the_drain_logs_each_try_with_its_call_id(down, settings, caplog):
    import logging

    from integration.logcontext import ContextFilter

    caplog.handler.addFilter(ContextFilter())
    caplog.set_level(logging.INFO)
    settings.LINK_DRAIN_RATE = 0
    open_circuit(down)
    held = OutboundCallFactory()
    call_deliver(held.pk)
    shift_circuit(next_probe_at=0)
    down.replace(responses.POST, PAUSE_URL, json={"status": "PAUSED"})
    call_deliver(OutboundCallFactory().pk)
    caplog.clear()
    assert calls_drain() == 1
    (record,) = [r for r in caplog.records if "/v2/" in r.getMessage()]
    assert getattr(record, "call_id", None) == held.pk


def test_a_failed_probe_waits_for_the_next_probe_not_for_its_backoff(down, settings):
    open_circuit(down)
    shift_circuit(next_probe_at=0)
    probe = OutboundCallFactory()
    before = timezone.now()
    assert call_deliver(probe.pk, inline_wait=0) == 1
    probe.refresh_from_db()
    assert probe.next_attempt_at >= before + timedelta(seconds=60)
    assert call_deliver(OutboundCallFactory().pk) == 0  # the next one is not due yet: held


def test_a_probe_past_its_deadline_keeps_waiting_while_the_outage_is_shorter_than_the_deadline(down):
    open_circuit(down)
    shift_circuit(next_probe_at=0)
    call = OutboundCallFactory(deadline=timezone.now() + timedelta(seconds=1))
    call_deliver(call.pk, inline_wait=0)
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.PENDING


def test_an_outage_longer_than_the_submit_deadline_fails_the_order_retryable(mocked_link, settings):
    settings.LINK_CIRCUIT_FAILURES = 1
    make_store()
    order = place()
    mocked_link.add(responses.POST, f"{LINK}/v2/orders", status=503, json={"error": {"code": "unavailable"}})
    call_deliver(submit_call(order).pk, inline_wait=0)  # opens the circuit
    assert calls_expire() == 0
    down_since = timezone.now() - timedelta(seconds=settings.LINK_SUBMIT_DEADLINE + 1)
    shift_circuit(since=down_since.timestamp(), next_probe_at=0)
    OutboundCall.objects.filter(pk=submit_call(order).pk).update(
        created_at=down_since, deadline=timezone.now(), next_attempt_at=timezone.now()
    )
    call_deliver(submit_call(order).pk, inline_wait=0)  # the probe fails too
    order.refresh_from_db()
    assert order.state == Order.State.FAILED
    assert order.failure_reason.startswith(f"Link unavailable since {down_since:%Y-%m-%d %H:%M:%S} UTC")
    order_retry_submission(order)  # one step back to PENDING with a new submit call
    order.refresh_from_db()
    assert order.state == Order.State.PENDING and submit_call(order).status == OutboundCall.Status.PENDING


@pytest.mark.parametrize(
    ("outage_seconds", "fails"), [(3500, False), (3700, True)], ids=["shorter-than-deadline", "longer"]
)
def test_sweep_fails_a_held_call_past_its_deadline_only_after_an_outage_longer_than_it(down, outage_seconds, fails):
    open_circuit(down)
    held = OutboundCallFactory()
    call_deliver(held.pk)
    an_hour_ago = timezone.now() - timedelta(hours=1)
    OutboundCall.objects.filter(pk=held.pk).update(created_at=an_hour_ago, deadline=timezone.now())
    shift_circuit(since=(timezone.now() - timedelta(seconds=outage_seconds)).timestamp())
    assert calls_expire() == int(fails)
    held.refresh_from_db()
    assert (held.status == OutboundCall.Status.FAILED) is fails
    if fails:
        assert held.last_error.startswith("Link unavailable since")


def test_sweep_does_not_fail_a_call_past_its_deadline_that_was_not_tried_since_link_came_back(down, no_broker):
    open_circuit(down)
    held = OutboundCallFactory()
    call_deliver(held.pk)
    shift_circuit(state=circuit.CircuitMode.CLOSED, closed_at=timezone.now().timestamp(), failures=0)
    OutboundCall.objects.filter(pk=held.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    calls_sweep()
    assert held.pk in no_broker  # released (the worker that closed the circuit died) and sent, not failed
    held.refresh_from_db()
    assert held.status == OutboundCall.Status.PENDING and held.waiting_on == ""
    call_deliver(held.pk, inline_wait=0)  # Link still fails it (circuit closed): now it has had its try
    held.refresh_from_db()
    assert held.status == OutboundCall.Status.FAILED and "Gave up at the deadline" in held.last_error


def test_sweep_sends_a_probe_when_one_is_due_and_nobody_sends_it(down, no_broker):
    open_circuit(down)
    older, newer = OutboundCallFactory(), OutboundCallFactory()
    call_deliver(older.pk)
    call_deliver(newer.pk)
    assert older.pk not in calls_due_now()
    shift_circuit(next_probe_at=0)
    no_broker.clear()
    calls_sweep()
    assert no_broker == [older.pk]


def calls_due_now():
    return set(OutboundCall.objects.filter(next_attempt_at__lte=timezone.now()).values_list("pk", flat=True))


def test_a_429_slows_every_call_to_the_host(mocked_link, settings):
    settings.LINK_RETRY_INLINE_MAX = 0
    mocked_link.add(responses.POST, PAUSE_URL, status=429, headers={"Retry-After": "30"}, json={})
    call_deliver(OutboundCallFactory().pk)
    other = OutboundCallFactory(path="/v2/venues/ven_2/pause")
    before = timezone.now()
    assert call_deliver(other.pk) == 0
    other.refresh_from_db()
    assert other.attempts == 0 and other.next_attempt_at >= before + timedelta(seconds=29)
    assert other.waiting_on == ""  # a pause is a time, not an outage
    assert link_calls(mocked_link) == 1
    assert circuit.circuit_status(HOST).paused_until is not None


def test_the_budget_is_shared_by_every_call_to_the_host(mocked_link, settings):
    settings.LINK_RATE_LIMIT = 2
    mocked_link.add(responses.POST, PAUSE_URL, json={"status": "PAUSED"})
    assert call_deliver(OutboundCallFactory().pk, inline_wait=0) == 1
    second = OutboundCallFactory()
    assert call_deliver(second.pk, inline_wait=0) == 0  # its slot is half a second away
    second.refresh_from_db()
    assert second.attempts == 0 and second.next_attempt_at > timezone.now()
    assert call_deliver(second.pk, inline_wait=1) == 1  # waits for its slot in place
    assert link_calls(mocked_link) == 2


def test_the_confirm_deadline_counts_from_links_201(mocked_link, settings):
    settings.LINK_CONFIRM_DEADLINE = 600
    make_store()
    unsent, taken = place(), place()
    long_ago = timezone.now() - timedelta(seconds=3600)
    Order.objects.filter(pk__in=[unsent.pk, taken.pk]).update(placed_at=long_ago, pending_since=long_ago)
    link_takes(mocked_link, taken, "ord_late")
    assert orders_cancel_unconfirmed() == []  # one not at Link yet, one at Link for a moment

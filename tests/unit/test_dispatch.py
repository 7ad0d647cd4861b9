"""Issue 24: the deliveries' dispatcher. Batches claimed round robin with SKIP LOCKED and a lease, each endpoint's
AIMD window, a wall-clock deadline per try (a local server that drips its answer), attempts recorded in bulk."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from dev.receiver import Answer, WebhookReceiver
from integration.models import CallAttempt, OutboundCall, WebhookEndpoint
from integration.services.mp_events import events as n
from integration.services.mp_events.dispatch import (
    deliveries_claim,
    deliveries_dispatch,
    deliveries_prepare,
    deliveries_record,
)
from integration.services.mp_events.sender import TryOutcome
from integration.services.mp_events.window import EndpointWindow
from tests.dripper import Dripper
from tests.order_fixtures import api_user
from tests.waiting import wait_for

S = OutboundCall.Status


# --- the window (no database) --------------------------------------------------------------------


def test_a_window_doubles_per_round_trip_while_fast_then_grows_by_one_per_round_trip():
    w = EndpointWindow.start(2, 64)
    assert w.places == 2
    for _ in range(2):
        w.answered(ok=True, fast=True, sent_at=0, now=1)
    assert w.places == 4  # slow start: one more place per fast 2xx
    w.answered(ok=False, fast=True, sent_at=1, now=2)
    assert w.places == 2 and w.threshold == 2  # halved, and the threshold set there
    for _ in range(3):
        w.answered(ok=True, fast=True, sent_at=3, now=4)
    assert w.places == 3  # past the threshold: about one place per window's worth of fast answers


def test_a_window_halves_once_per_round_trip_and_never_below_one():
    w = EndpointWindow(size=16, maximum=64)
    for _ in range(8):  # eight tries in flight together all time out: one decrease, not eight
        w.answered(ok=False, fast=False, sent_at=10, now=12)
    assert w.places == 8
    w.answered(ok=False, fast=False, sent_at=13, now=15)  # sent after the decrease: it counts
    assert w.places == 4
    for i in range(10):
        w.answered(ok=False, fast=False, sent_at=20 + i, now=21 + i)
    assert w.places == 1


def test_a_slow_2xx_shrinks_the_window_like_a_failure_and_the_maximum_caps_it():
    w = EndpointWindow.start(8, 10)
    w.answered(ok=True, fast=False, sent_at=0, now=12)
    assert w.places == 4
    for _ in range(100):
        w.answered(ok=True, fast=True, sent_at=13, now=14)
    assert w.places == 10
    assert EndpointWindow.start(8, 10, failing=True).places == 1  # an endpoint already failing starts at one


# --- the database side ---------------------------------------------------------------------------


@pytest.fixture
def receiver(settings):
    rx = WebhookReceiver(respond=lambda d: Answer(204 if d.valid else 400)).start()
    settings.MP_WEBHOOK_HOSTS = [rx.url.split("/")[2]]
    settings.MP_WEBHOOK_TIMEOUT = 2.0
    yield rx
    rx.stop()


def endpoint_for(url, client=None, **fields) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        client=client or api_user(), url=url, event_types=[n.STORE_ACCEPTING_CHANGED], **fields
    )


def store_events(count: int) -> None:
    data = {"store": {"external_store_id": "sf_1", "venue_id": "ven_1", "name": "S"}, "accepting": True}
    for _ in range(count):
        n.event_emit(n.STORE_ACCEPTING_CHANGED, data)


@pytest.mark.django_db
def test_claims_go_round_robin_across_endpoints_within_each_window(receiver, settings):
    settings.MP_WEBHOOK_CONCURRENCY = 3
    flooded = endpoint_for(receiver.url)
    store_events(50)  # a backlog on the first endpoint only
    quiet = endpoint_for(receiver.url, client=flooded.client)
    failing = endpoint_for(receiver.url, client=flooded.client, failing_since=timezone.now())
    store_events(2)
    by_endpoint = lambda claimed: sorted(c.endpoint_id for c in claimed)  # noqa: E731

    assert by_endpoint(deliveries_claim({}, 3)) == sorted([flooded.pk, quiet.pk, failing.pk])  # one each first
    OutboundCall.objects.update(claimed_until=None)
    claimed = deliveries_claim({}, 100)
    assert by_endpoint(claimed).count(flooded.pk) == 3  # its window, not its backlog
    assert by_endpoint(claimed).count(quiet.pk) == 2 and by_endpoint(claimed).count(failing.pk) == 1
    full = dict.fromkeys([flooded.pk, quiet.pk, failing.pk], 0)
    assert deliveries_claim(full, 100) == []  # every window full (the dispatcher's count): nothing until tries end
    OutboundCall.objects.update(claimed_until=None)
    claimed = deliveries_claim({flooded.pk: 5, quiet.pk: 0}, 100)  # the dispatcher's free places per endpoint
    assert by_endpoint(claimed).count(flooded.pk) == 5 and quiet.pk not in by_endpoint(claimed)
    first = min(c.call_id for c in claimed if c.endpoint_id == flooded.pk)
    assert first == OutboundCall.objects.filter(endpoint=flooded).order_by("pk").first().pk  # oldest first


@pytest.mark.django_db
def test_a_claim_is_leased_and_claimed_again_once_the_lease_runs_out_and_a_late_record_changes_nothing(receiver):
    ep = endpoint_for(receiver.url)
    store_events(1)
    (first,) = deliveries_claim({}, 10)
    assert deliveries_claim({}, 10) == []  # leased: no one else takes it
    OutboundCall.objects.filter(pk=first.call_id).update(claimed_until=timezone.now() - timedelta(seconds=1))
    (again,) = deliveries_claim({}, 10)  # the first dispatcher died: after its lease the delivery goes again
    assert (again.call_id, again.number) == (first.call_id, first.number + 1)

    (late,) = deliveries_prepare([first])  # the first dispatcher's try ends after all: recorded, never applied
    (now,) = deliveries_prepare([again])
    t = time.monotonic()
    done = deliveries_record([TryOutcome(late, timezone.now(), t, 0.1, status_code=204)])
    assert (done.stale, done.delivered) == (1, 0)
    assert OutboundCall.objects.get(pk=first.call_id).status == S.PENDING
    done = deliveries_record([TryOutcome(now, timezone.now(), t, 0.1, status_code=204)])
    assert done.delivered == 1
    call = OutboundCall.objects.get(pk=first.call_id)
    assert call.status == S.SUCCEEDED and call.claimed_until is None
    assert list(call.call_attempts.values_list("number", flat=True)) == [1, 2]  # both tries on record, once each
    ep.refresh_from_db()
    assert ep.last_success_at is not None


@pytest.mark.django_db
def test_a_batch_of_tries_is_recorded_in_a_few_queries_whatever_its_size(receiver, django_assert_max_num_queries):
    endpoints = [endpoint_for(receiver.url)]
    endpoints += [endpoint_for(receiver.url, client=endpoints[0].client) for _ in range(3)]
    store_events(15)
    claimed = deliveries_claim(dict.fromkeys([e.pk for e in endpoints], 20), 100)
    assert len(claimed) == 60
    jobs = deliveries_prepare(claimed)
    t, now = time.monotonic(), timezone.now()
    outcomes = []
    for i, job in enumerate(jobs):
        if i % 10 == 0:
            outcomes.append(TryOutcome(job, now, t, 1.0, error="timeout", message="too slow"))
        elif i % 10 == 1:
            outcomes.append(TryOutcome(job, now, t, 0.1, status_code=503))
        else:
            outcomes.append(TryOutcome(job, now, t, 0.1, status_code=204))
    with django_assert_max_num_queries(8):  # savepoint, lock, attempts, deliveries, two streak updates, release
        done = deliveries_record(outcomes)
    assert (done.delivered, done.retried, done.failed) == (48, 12, 0)
    assert CallAttempt.objects.count() == 60
    statuses = dict(OutboundCall.objects.values_list("pk", "status"))
    assert sorted(statuses.values()).count(S.PENDING) == 12
    timed_out = CallAttempt.objects.filter(error__startswith="timeout").get(call_id=jobs[0].call_id)
    assert timed_out.outcome == CallAttempt.Outcome.RETRIABLE and timed_out.status_code is None


@pytest.mark.django_db
def test_a_try_that_drips_its_answer_ends_at_the_deadline_as_a_timeout_while_others_go_on(receiver, settings):
    dripper = Dripper(every=0.3)  # a byte every 0.3 s: never a read timeout's worth of silence, never done
    settings.MP_WEBHOOK_HOSTS = [*settings.MP_WEBHOOK_HOSTS, dripper.url.split("/")[2]]
    settings.MP_WEBHOOK_TIMEOUT = 2.0
    settings.LINK_RETRY_BASE = settings.LINK_RETRY_MAX = 60  # the dripping endpoint's retry is left for later
    try:
        dripping = endpoint_for(dripper.url)
        healthy = endpoint_for(receiver.url)
        receiver.secrets = [healthy.secret]
        store_events(3)
        run = deliveries_dispatch(until_idle=True)
    finally:
        dripper.close()
    assert run.ran and run.delivered == 3
    dripping.refresh_from_db()
    assert dripping.failing_since is not None  # the timeout counts in its failure streak
    attempts = CallAttempt.objects.filter(call__endpoint=dripping)
    assert attempts.count() >= 1
    assert all(a.outcome == CallAttempt.Outcome.RETRIABLE and a.error.startswith("timeout") for a in attempts)
    assert all(a.status_code is None for a in attempts)  # headers came, the body did not: no answer
    first_drip = attempts.order_by("started_at").first()
    assert first_drip is not None
    drip_ended = first_drip.started_at + timedelta(milliseconds=first_drip.duration_ms)
    healthy_started = CallAttempt.objects.filter(call__endpoint=healthy).order_by("started_at")
    assert all(a.started_at < drip_ended for a in healthy_started)  # never queued behind the dripping try
    assert OutboundCall.objects.filter(endpoint=healthy, status=S.SUCCEEDED).count() == 3
    assert all(d.valid for d in receiver.received)
    assert all(d.valid for d in receiver.received)
    assert OutboundCall.objects.filter(endpoint=dripping, status=S.PENDING, claimed_until=None).count() == 3


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_a_run_takes_a_dispatcher_slot_and_a_second_run_finds_none(receiver, settings):
    import psycopg
    from django.db import connection

    settings.MP_WEBHOOK_DISPATCHERS = 1
    db = connection.settings_dict
    other = psycopg.connect(dbname=db["NAME"], host=db["HOST"] or None, user=db["USER"] or None, autocommit=True)
    try:  # another dispatcher, in another session, holds the only slot
        other.execute("SELECT pg_advisory_lock(%s, 0)", [0x6C62_6470])
        assert deliveries_dispatch(until_idle=True).ran is False
    finally:
        other.close()  # its session ends: its slot frees with it (a dead worker's too)
    wait_for(lambda: deliveries_dispatch(until_idle=True).ran, timeout=10, what="the slot to free with its session")


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_a_run_ends_inside_its_budget_and_asks_for_its_successor_as_it_stops_claiming(receiver, settings, monkeypatch):
    from integration.services.mp_events import dispatch

    kicks = []
    monkeypatch.setattr(dispatch, "deliveries_kick", lambda force=False: kicks.append(force))
    settings.MP_WEBHOOK_TIMEOUT, settings.MP_WEBHOOK_DISPATCHERS = 1.0, 2
    ep = endpoint_for(receiver.url)
    receiver.secrets = [ep.secret]
    store_events(2)
    run = deliveries_dispatch(budget=3.0, hand_over=True)  # claims for 1 s (budget - timeout - 1 s)
    assert run.ran and run.delivered == 2
    assert kicks == [True, True]  # slot 0 asks for a second dispatcher at once, and for its successor at the end
    assert deliveries_dispatch(until_idle=True).ran  # its slot is free again

import threading
from datetime import timedelta

import pytest
import responses
from django.db import transaction
from django.utils import timezone

from integration.models import CallAttempt, OutboundCall
from integration.services.outbox import calls as outbound
from integration.services.outbox.calls import call_backoff, call_create, call_deliver
from integration.services.outbox.sweep import calls_sweep
from tests.conftest import LINK
from tests.factories import OutboundCallFactory

pytestmark = pytest.mark.django_db

PAUSE_URL = f"{LINK}/v2/venues/ven_1/pause"


def venue_calls(rsps):
    return [c for c in rsps.calls if "/v2/" in c.request.url]


def test_call_is_enqueued_only_on_commit(no_broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        call = call_create(kind="pause_store", method="POST", path="/v2/venues/v/pause", payload={})
        assert no_broker == []
    assert no_broker == [call.pk]


def test_rolled_back_change_leaves_no_call(no_broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        call_create(kind="pause_store", method="POST", path="/v2/venues/v/pause", payload={})
        raise RuntimeError("the state change failed")
    assert not OutboundCall.objects.exists() and no_broker == []


def test_success_records_attempt_with_redacted_headers(mocked_link):
    mocked_link.add(responses.POST, PAUSE_URL, json={"status": "PAUSED", "paused_until": None})
    call = OutboundCallFactory(idempotency_key="key-1")
    assert call_deliver(call.pk) == 1
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.SUCCEEDED and call.response == {"status": "PAUSED", "paused_until": None}
    attempt = call.call_attempts.get()
    assert attempt.outcome == CallAttempt.Outcome.SUCCESS and attempt.status_code == 200
    assert attempt.request_headers["Authorization"] == "***"
    assert attempt.request_headers["Idempotency-Key"] == "key-1"
    assert venue_calls(mocked_link)[0].request.headers["Idempotency-Key"] == "key-1"


def test_5xx_retried_with_backoff_until_success(mocked_link):
    mocked_link.add(responses.POST, PAUSE_URL, status=503, json={"error": {"code": "unavailable"}})
    mocked_link.add(responses.POST, PAUSE_URL, status=503, json={"error": {"code": "unavailable"}})
    mocked_link.add(responses.POST, PAUSE_URL, json={"status": "PAUSED"})
    call = OutboundCallFactory()
    assert call_deliver(call.pk) == 3
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.SUCCEEDED and call.attempts == 3
    assert list(call.call_attempts.values_list("outcome", flat=True)) == ["retriable", "retriable", "success"]


def test_no_retry_on_4xx(mocked_link):
    mocked_link.add(responses.POST, PAUSE_URL, status=404, json={"error": {"code": "not_found", "message": "no venue"}})
    call = OutboundCallFactory()
    assert call_deliver(call.pk) == 1
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.FAILED and call.attempts == 1
    assert "not_found" in call.last_error and call.last_status_code == 404
    assert len(venue_calls(mocked_link)) == 1


def test_retry_after_is_honoured(mocked_link, settings):
    settings.LINK_RETRY_INLINE_MAX = 0  # leave the retry to the sweep so next_attempt_at can be read
    mocked_link.add(responses.POST, PAUSE_URL, status=429, headers={"Retry-After": "30"}, json={})
    call = OutboundCallFactory()
    before = timezone.now()
    call_deliver(call.pk)
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.PENDING
    assert call.next_attempt_at >= before + timedelta(seconds=30)
    assert call.claimed_until is None


def test_gives_up_at_the_deadline(mocked_link, settings):
    settings.LINK_CIRCUIT_FAILURES = 1000  # Link keeps failing but the circuit stays closed: every try counts
    mocked_link.add(responses.POST, PAUSE_URL, status=503, json={})
    call = OutboundCallFactory(deadline=timezone.now() + timedelta(milliseconds=300))
    call_deliver(call.pk)
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.FAILED
    assert "deadline" in call.last_error
    assert 1 <= call.attempts <= 20


def test_backoff_grows_exponentially_with_jitter(settings):
    settings.LINK_RETRY_BASE, settings.LINK_RETRY_MAX = 1, 300
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (6, 32), (20, 300)]:
        delays = {round(call_backoff(attempt), 6) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered
    assert call_backoff(1, retry_after=45) == 45


def test_a_claimed_call_whose_worker_died_is_resent(mocked_link, no_broker):
    mocked_link.add(responses.POST, PAUSE_URL, json={"status": "PAUSED"})
    call = OutboundCallFactory()
    claimed = outbound.call_claim(call.pk)  # the worker claims ... and is killed before sending
    assert claimed is not None
    assert outbound.call_claim(call.pk) is None  # leased: nobody else takes it meanwhile
    assert calls_sweep() == 0
    OutboundCall.objects.filter(pk=call.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert calls_sweep() == 1 and no_broker == [call.pk]
    call_deliver(call.pk)
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.SUCCEEDED
    assert call.attempts == 2 and call.call_attempts.count() == 1


def test_sweep_fails_calls_past_their_deadline_once_they_had_a_try(no_broker, mocked_link):
    mocked_link.add(responses.POST, PAUSE_URL, status=503, json={})
    tried, untried = OutboundCallFactory(), OutboundCallFactory(deadline=timezone.now() - timedelta(seconds=1))
    call_deliver(tried.pk, inline_wait=0)
    OutboundCall.objects.filter(pk=tried.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    no_broker.clear()
    calls_sweep()
    tried.refresh_from_db()
    assert tried.status == OutboundCall.Status.FAILED and "Deadline passed" in tried.last_error
    untried.refresh_from_db()  # never tried while Link was up (e.g. the broker was down): it goes, it does not fail
    assert untried.status == OutboundCall.Status.PENDING and no_broker == [untried.pk]


def test_response_bodies_are_truncated(mocked_link):
    mocked_link.add(responses.POST, PAUSE_URL, status=400, body="E" * 20000)
    call = OutboundCallFactory()
    call_deliver(call.pk)
    body = call.call_attempts.get().response_body
    assert len(body) < 4100 and body.endswith("more characters]")


def test_retry_now_revives_a_failed_call(no_broker, django_capture_on_commit_callbacks):
    call = OutboundCallFactory(status=OutboundCall.Status.FAILED, deadline=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        outbound.call_retry_now(call)
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.PENDING and call.deadline > timezone.now()
    assert no_broker == [call.pk]
    succeeded = OutboundCallFactory(status=OutboundCall.Status.SUCCEEDED)
    with pytest.raises(outbound.CallRetryRefused, match="it is succeeded; only a pending or failed call"):
        outbound.call_retry_now(succeeded)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_claim_the_same_call():
    calls = [OutboundCallFactory() for _ in range(20)]
    claimed: list[int] = []
    lock = threading.Lock()

    def worker():
        from django.db import connection

        while (call := outbound.call_claim()) is not None:
            with lock:
                claimed.append(call.pk)
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(c.pk for c in calls)


def test_a_long_retry_series_hands_over_to_a_fresh_task(mocked_link, no_broker, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 1}  # a budget of 0.6 s per task
    settings.LINK_CONNECT_TIMEOUT, settings.LINK_READ_TIMEOUT = 0.1, 0.1
    settings.LINK_RETRY_BASE = settings.LINK_RETRY_MAX = 0.2
    mocked_link.add(responses.POST, PAUSE_URL, status=503, json={})
    call = OutboundCallFactory()
    tries = call_deliver(call.pk)
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.PENDING
    assert 1 <= tries <= 4 and no_broker == [call.pk]  # re-enqueued, not left to the minute sweep


def test_a_resume_waits_for_the_stores_pause_still_being_retried(
    mocked_link, no_broker, django_capture_on_commit_callbacks
):
    from tests.factories import StoreFactory

    store, other = StoreFactory(venue_id="ven_1"), StoreFactory(venue_id="ven_2")
    later = timezone.now() + timedelta(seconds=30)
    pause = OutboundCallFactory(store=store, next_attempt_at=later)  # in backoff after a 503
    resume = OutboundCallFactory(store=store, kind=OutboundCall.Kind.RESUME_STORE, path="/v2/venues/ven_1/resume")
    elsewhere = OutboundCallFactory(store=other, kind=OutboundCall.Kind.RESUME_STORE, path="/v2/venues/ven_2/resume")
    assert outbound.call_claim(resume.pk) is None
    assert outbound.call_claim(elsewhere.pk) == elsewhere

    mocked_link.add(responses.POST, PAUSE_URL, json={"status": "PAUSED"})
    OutboundCall.objects.filter(pk=pause.pk).update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert call_deliver(pause.pk) == 1
    assert no_broker == [resume.pk]  # handed on at once, not at the next sweep
    assert outbound.call_claim(resume.pk) == resume

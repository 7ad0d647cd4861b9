"""Deliveries to a real HTTP receiver on loopback: signatures, retries, Retry-After, 410, budgets."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dev.receiver import Answer, WebhookReceiver
from integration.models import CallAttempt, NotificationEvent, OutboundCall, WebhookEndpoint
from integration.services.mp_events import events as n
from integration.services.mp_events.dispatch import deliveries_claim, deliveries_dispatch
from integration.services.mp_events.endpoints import endpoints_disable_failing
from tests.order_fixtures import api_user

pytestmark = pytest.mark.django_db

S = OutboundCall.Status


@pytest.fixture
def receiver(settings):
    script: list[Answer] = []
    rx = WebhookReceiver(respond=lambda d: script.pop(0) if script else Answer(204 if d.valid else 400)).start()
    rx.script = script
    settings.MP_WEBHOOK_HOSTS = [rx.url.split("/")[2]]
    settings.MP_WEBHOOK_TIMEOUT = 2.0  # a loaded machine answers within it; the stalled try below does not
    yield rx
    rx.stop()


def endpoint_for(rx, client=None, **fields) -> WebhookEndpoint:
    ep = WebhookEndpoint.objects.create(
        client=client or api_user(), url=rx.url, event_types=list(n.EVENT_TYPES), **fields
    )
    rx.secrets = [ep.secret]
    return ep


def store_event(store=None) -> NotificationEvent:
    data = {"store": {"external_store_id": "sf_1", "venue_id": "ven_1", "name": "S"}, "accepting": True}
    return n.event_emit(n.STORE_ACCEPTING_CHANGED, data, store=store)


def deliver() -> int:
    """One dispatcher run until nothing is due soon: the number of tries it made."""
    run = deliveries_dispatch(until_idle=True)
    assert run.ran
    return run.tries


def delivery(ep) -> OutboundCall:
    return OutboundCall.objects.filter(endpoint=ep).latest("pk")


def test_a_delivery_is_signed_verified_and_settled(receiver):
    ep = endpoint_for(receiver)
    event = store_event()
    call = delivery(ep)
    assert deliver() == 1
    call.refresh_from_db()
    assert call.status == S.SUCCEEDED
    (got,) = receiver.accepted
    assert got.valid and got.webhook_id == event.event_id and got.body == n.event_body(event)
    assert "authorization" not in got.headers  # never Link's client (nor its token)
    ep.refresh_from_db()
    assert ep.last_success_at and ep.failing_since is None
    attempt = call.call_attempts.get()
    assert attempt.status_code == 204 and "webhook-signature" not in attempt.request_headers


def test_failures_are_retried_until_a_2xx_and_the_streak_ends_with_it(receiver):
    ep = endpoint_for(receiver)
    receiver.script += [Answer(500), Answer(204, delay=3.0), Answer(204)]  # 500, then a timeout, then through
    store_event()
    call = delivery(ep)
    assert deliver() == 3
    call.refresh_from_db()
    outcomes = list(call.call_attempts.values_list("outcome", "status_code"))
    assert outcomes == [
        (CallAttempt.Outcome.RETRIABLE, 500),
        (CallAttempt.Outcome.RETRIABLE, None),
        (CallAttempt.Outcome.SUCCESS, 204),
    ]
    assert call.status == S.SUCCEEDED
    assert len({d.webhook_id for d in receiver.received}) == 1  # every try is the same message
    ep.refresh_from_db()
    assert ep.failing_since is None and ep.last_success_at


def test_retry_after_is_honoured(receiver):
    ep = endpoint_for(receiver)
    receiver.script.append(Answer(429, headers={"Retry-After": "120"}))
    store_event()
    call = delivery(ep)
    before = timezone.now()
    assert deliver() == 1  # far beyond the inline wait: left to the sweep
    call.refresh_from_db()
    assert call.status == S.PENDING and call.next_attempt_at >= before + timedelta(seconds=120)
    ep.refresh_from_db()
    assert ep.failing_since is not None


def test_a_redirect_is_not_followed(receiver, settings):
    ep = endpoint_for(receiver)
    receiver.script += [Answer(302, headers={"Location": f"{receiver.url}/elsewhere"})]
    settings.LINK_RETRY_BASE = settings.LINK_RETRY_MAX = 10  # the next try is left to the sweep
    store_event()
    call = delivery(ep)
    deliver()
    call.refresh_from_db()
    assert call.status == S.PENDING and call.last_status_code == 302
    assert len(receiver.received) == 1


def test_410_disables_the_endpoint_and_drops_what_was_waiting(receiver, settings):
    settings.MP_WEBHOOK_CONCURRENCY = 1  # one try in flight: the second waits behind the 410
    ep = endpoint_for(receiver)
    receiver.script.append(Answer(410))
    first, second = store_event(), store_event()
    calls = list(OutboundCall.objects.filter(endpoint=ep).order_by("pk"))
    assert deliver() == 1
    for call in calls:
        call.refresh_from_db()
    assert [c.status for c in calls] == [S.FAILED, S.SKIPPED]
    ep.refresh_from_db()
    assert not ep.enabled and ep.auto_disabled and first.event_id in ep.disabled_reason
    store_event()
    assert OutboundCall.objects.filter(endpoint=ep).count() == 2  # a disabled endpoint gets no new deliveries
    assert second.pk


def test_an_endpoint_failing_for_days_is_disabled(receiver, settings):
    settings.MP_WEBHOOK_DISABLE_AFTER_HOURS = 72
    dead = endpoint_for(receiver, failing_since=timezone.now() - timedelta(hours=73))
    flaky = endpoint_for(receiver, client=dead.client, failing_since=timezone.now() - timedelta(hours=5))
    assert endpoints_disable_failing() == 1
    dead.refresh_from_db()
    flaky.refresh_from_db()
    assert (dead.enabled, dead.auto_disabled, flaky.enabled) == (False, True, True)


def test_deliveries_are_counted_apart_from_calls_to_link(receiver, django_capture_on_commit_callbacks):
    from integration import metrics
    from tests.scrape import moved, samples, value

    endpoint_for(receiver)
    receiver.script.append(Answer(500))
    store_event()
    before = samples(metrics.render().decode())
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver() == 2
    after = samples(metrics.render().decode())
    assert moved(before, after, "linkbridge_mp_deliveries_total", outcome="retried") == 1
    assert moved(before, after, "linkbridge_mp_deliveries_total", outcome="succeeded") == 1
    assert moved(before, after, "linkbridge_mp_event_delivered_seconds_count") == 1
    assert moved(before, after, "linkbridge_link_calls_total") == 0
    assert value(after, "linkbridge_mp_webhook_endpoints", state="ok") == 1


def test_a_dead_endpoint_never_opens_links_circuit_nor_holds_link_calls(receiver, settings):
    from integration.models import LinkCircuit
    from integration.services.outbox import circuit, sweep

    settings.LINK_CIRCUIT_FAILURES = 2
    settings.LINK_RETRY_BASE, settings.LINK_RETRY_MAX = 60, 120  # every retry is left to the sweep: one try each
    ep = endpoint_for(receiver)
    receiver.script += [Answer(503)] * 5
    store_event()
    call = delivery(ep)
    for _ in range(5):
        OutboundCall.objects.filter(pk=call.pk).update(next_attempt_at=timezone.now())
        assert deliver() == 1
    call.refresh_from_db()
    assert (call.status, call.attempts, call.waiting_on) == (S.PENDING, 5, "")
    assert len(receiver.received) == 5 and call.last_status_code == 503
    assert circuit.circuits_status() == [] and not LinkCircuit.objects.exists()  # Link's circuit never heard of it
    assert sweep.calls_due() == []  # Link's workers and sweep leave deliveries alone

    OutboundCall.objects.filter(pk=call.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    assert sweep.calls_expire() == 1  # past its deadline it fails: no circuit waits for an endpoint
    call.refresh_from_db()
    assert call.status == S.FAILED and "Deadline passed" in call.last_error


def test_a_backoff_longer_than_the_retry_inline_max_ends_an_until_idle_run(receiver, settings):
    ep = endpoint_for(receiver)
    settings.LINK_RETRY_INLINE_MAX, settings.MP_WEBHOOK_RETRY_INLINE_MAX = 30, 1
    settings.LINK_RETRY_BASE = settings.LINK_RETRY_MAX = 4  # a backoff of 2 to 4 s: past MP_WEBHOOK_RETRY_INLINE_MAX
    receiver.script.append(Answer(500))
    store_event()
    call = delivery(ep)
    assert deliver() == 1  # the next try is left to the next run (a dispatcher in production runs on)
    call.refresh_from_db()
    assert call.status == S.PENDING and call.claimed_until is None


def test_a_delivery_is_leased_for_its_own_claim_lease(receiver, settings):
    ep = endpoint_for(receiver)
    settings.LINK_CLAIM_LEASE, settings.MP_WEBHOOK_CLAIM_LEASE = 45, 7
    store_event()
    before = timezone.now()
    (claimed,) = deliveries_claim({}, 10)
    call = delivery(ep)
    assert claimed.call_id == call.pk
    assert before + timedelta(seconds=7) <= call.claimed_until <= timezone.now() + timedelta(seconds=7)

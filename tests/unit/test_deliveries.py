"""Deliveries to a real HTTP receiver on loopback: signatures, retries, Retry-After, 410, budgets."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dev.receiver import Answer, WebhookReceiver
from integration.models import CallAttempt, NotificationEvent, OutboundCall, WebhookEndpoint
from integration.services.mp_events import events as n
from integration.services.mp_events.deliveries import _wait_in_place, delivery_claim, delivery_deliver
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
    settings.MP_WEBHOOK_READ_TIMEOUT = 0.5
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


def delivery(ep) -> OutboundCall:
    return OutboundCall.objects.filter(endpoint=ep).latest("pk")


def test_a_delivery_is_signed_verified_and_settled(receiver):
    ep = endpoint_for(receiver)
    event = store_event()
    call = delivery(ep)
    assert delivery_deliver(call.pk) == 1
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
    receiver.script += [Answer(500), Answer(204, delay=1.0), Answer(204)]  # 500, then a timeout, then through
    store_event()
    call = delivery(ep)
    assert delivery_deliver(call.pk) == 3
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
    assert delivery_deliver(call.pk) == 1  # far beyond the inline wait: left to the sweep
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
    delivery_deliver(call.pk)
    call.refresh_from_db()
    assert call.status == S.PENDING and call.last_status_code == 302
    assert len(receiver.received) == 1


def test_410_disables_the_endpoint_and_drops_what_was_waiting(receiver):
    ep = endpoint_for(receiver)
    receiver.script.append(Answer(410))
    first, second = store_event(), store_event()
    calls = list(OutboundCall.objects.filter(endpoint=ep).order_by("pk"))
    assert delivery_deliver(calls[0].pk) == 1
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


def test_an_endpoint_never_holds_more_than_its_budget_and_others_go_on(receiver, settings):
    settings.MP_WEBHOOK_CONCURRENCY = 1
    slow = endpoint_for(receiver)
    other = endpoint_for(receiver, client=slow.client)
    store_event()
    slow_calls = list(OutboundCall.objects.filter(endpoint=slow))
    store_event()
    slow_calls += list(OutboundCall.objects.filter(endpoint=slow).exclude(pk=slow_calls[0].pk))
    held = delivery_claim(slow_calls[0].pk)
    assert held is not None
    assert delivery_claim(slow_calls[1].pk) is None  # the slow endpoint's place is taken
    assert delivery_claim(delivery(other).pk) is not None  # another endpoint is not held up


def test_failing_endpoints_get_one_place_each_and_share_a_few_so_healthy_ones_go_on(receiver, settings):
    settings.MP_WEBHOOK_CONCURRENCY, settings.MP_WEBHOOK_FAILING_PLACES = 2, 2
    since = timezone.now() - timedelta(minutes=5)
    dead = [endpoint_for(receiver, failing_since=since) for _ in range(3)]
    healthy = endpoint_for(receiver, client=dead[0].client)
    for _ in range(3):
        store_event()
    calls = {ep: list(OutboundCall.objects.filter(endpoint=ep).order_by("pk")) for ep in [*dead, healthy]}
    assert delivery_claim(calls[dead[0]][0].pk) is not None
    assert delivery_claim(calls[dead[0]][1].pk) is None  # a failing endpoint: one try in flight
    assert delivery_claim(calls[dead[1]][0].pk) is not None
    assert delivery_claim(calls[dead[2]][0].pk) is None  # failing endpoints share MP_WEBHOOK_FAILING_PLACES
    assert [delivery_claim(c.pk) is not None for c in calls[healthy]] == [True, True, False]  # its own budget

    WebhookEndpoint.objects.filter(pk=dead[2].pk).update(failing_since=None)  # a 2xx ends its streak
    assert delivery_claim(calls[dead[2]][0].pk) is not None
    assert delivery_claim(calls[dead[2]][1].pk) is not None


def test_a_worker_waits_out_a_backoff_in_its_place_only_while_the_budget_has_one(receiver, settings):
    settings.MP_WEBHOOK_CONCURRENCY, settings.MP_WEBHOOK_FAILING_PLACES = 2, 1
    ep = endpoint_for(receiver)
    store_event()
    store_event()
    first, second = OutboundCall.objects.filter(endpoint=ep).order_by("pk")
    assert delivery_claim(first.pk) is not None and delivery_claim(second.pk) is not None  # healthy: two places
    WebhookEndpoint.objects.filter(pk=ep.pk).update(failing_since=timezone.now())  # the first try failed
    OutboundCall.objects.filter(pk=first.pk).update(claimed_until=None, next_attempt_at=timezone.now())
    assert _wait_in_place(first, 0.01) is None  # failing: one place, which the second try still holds
    OutboundCall.objects.filter(pk=second.pk).update(claimed_until=None)
    assert _wait_in_place(first, 0.01).pk == first.pk


def test_the_sweep_hands_each_endpoint_a_few_due_deliveries_so_a_backlog_crowds_out_no_one(
    receiver, settings, monkeypatch
):
    from integration.services.mp_events import deliveries
    from integration.services.outbox import calls as outbound

    settings.MP_WEBHOOK_CONCURRENCY = 2
    dead = endpoint_for(receiver, failing_since=timezone.now())
    for _ in range(6):
        store_event()
    healthy = endpoint_for(receiver, client=dead.client)
    store_event()  # its message was lost (say Redis restarted): only the sweep sends it
    OutboundCall.objects.filter(endpoint=dead).update(next_attempt_at=timezone.now() - timedelta(hours=1))
    sent = []
    monkeypatch.setattr(outbound, "call_enqueue", lambda pk, kind=None: sent.append(pk))
    assert deliveries.deliveries_sweep(limit=3) == 3
    by_endpoint = dict(OutboundCall.objects.filter(pk__in=sent).values_list("pk", "endpoint_id"))
    assert sorted(by_endpoint.values()) == [dead.pk, dead.pk, healthy.pk]  # its budget each, oldest first


def test_deliveries_are_counted_apart_from_calls_to_link(receiver, django_capture_on_commit_callbacks):
    from integration import metrics
    from tests.scrape import moved, samples, value

    ep = endpoint_for(receiver)
    receiver.script.append(Answer(500))
    store_event()
    before = samples(metrics.render().decode())
    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_deliver(delivery(ep).pk) == 2
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
        assert delivery_deliver(call.pk) == 1
    call.refresh_from_db()
    assert (call.status, call.attempts, call.waiting_on) == (S.PENDING, 5, "")
    assert len(receiver.received) == 5 and call.last_status_code == 503
    assert circuit.circuits_status() == [] and not LinkCircuit.objects.exists()  # Link's circuit never heard of it
    assert sweep.calls_due() == []  # Link's workers and sweep leave deliveries alone

    OutboundCall.objects.filter(pk=call.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    assert sweep.calls_expire() == 1  # past its deadline it fails: no circuit waits for an endpoint
    call.refresh_from_db()
    assert call.status == S.FAILED and "Deadline passed" in call.last_error


def test_deliveries_wait_in_place_up_to_their_own_setting_not_links(receiver, settings):
    ep = endpoint_for(receiver)
    settings.LINK_RETRY_INLINE_MAX, settings.MP_WEBHOOK_RETRY_INLINE_MAX = 30, 1
    settings.LINK_RETRY_BASE = settings.LINK_RETRY_MAX = 4  # a backoff of 2 to 4 s: inside Link's inline wait only
    receiver.script.append(Answer(500))
    store_event()
    call = delivery(ep)
    assert delivery_deliver(call.pk) == 1  # the backoff is over MP_WEBHOOK_RETRY_INLINE_MAX: left to the sweep
    call.refresh_from_db()
    assert call.status == S.PENDING and call.claimed_until is None


def test_a_delivery_is_leased_for_its_own_claim_lease(receiver, settings):
    ep = endpoint_for(receiver)
    settings.LINK_CLAIM_LEASE, settings.MP_WEBHOOK_CLAIM_LEASE = 45, 7
    store_event()
    before = timezone.now()
    claimed = delivery_claim(delivery(ep).pk)
    assert before + timedelta(seconds=7) <= claimed.claimed_until <= timezone.now() + timedelta(seconds=7)

"""Alerts to people (issue 26): fire once after the threshold, resolve once clear for a minute, grouped stores,
delivered as outbox calls to the webhook and by e-mail."""

from datetime import timedelta

import pytest
import responses
from django.core import mail
from django.utils import timezone

from integration.models import Alert, AvailabilityChange, ClusterBeat, OutboundCall, WorkerHeartbeat
from integration.services.ops import alerts
from integration.services.ops.alerts import Condition
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db
HOOK = "http://alerts.test/hook"


@pytest.fixture(autouse=True)
def channels(settings):
    settings.ALERT_WEBHOOK_URL = HOOK
    settings.ALERT_EMAILS = ["oncall@example.com"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ALERT_LINK_UNREACHABLE_SECONDS = 120
    settings.ALERT_STORE_UNAVAILABLE_SECONDS = 900
    settings.ALERT_RESOLVE_SECONDS = 60
    return settings


@pytest.fixture
def link_down(monkeypatch):
    state = {"since": None}

    def check(now):
        if state["since"] is None:
            return []
        return [Condition(alerts.LINK_UNREACHABLE, "link", state["since"], "Link is unreachable")]

    monkeypatch.setitem(alerts.CHECKS, alerts.LINK_UNREACHABLE, check)
    for rule in (alerts.WORKER_SILENT, alerts.ORDERS_FAILING, alerts.MP_ENDPOINT_FAILING):
        monkeypatch.setitem(alerts.CHECKS, rule, lambda now: [])
    return state


def bodies(rsps):
    import json

    return [json.loads(c.request.body) for c in rsps.calls]


def test_fires_once_after_the_threshold_and_resolves_once_after_a_clear_minute(link_down):
    t0 = timezone.now()
    link_down["since"] = t0
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, HOOK, json={})
        for s in (0, 30, 60, 90):
            alerts.alerts_evaluate(t0 + timedelta(seconds=s), cluster="worker")
        assert not rsps.calls  # pending: under the threshold
        for s in (120, 150, 180):
            alerts.alerts_evaluate(t0 + timedelta(seconds=s), cluster="worker")
        link_down["since"] = None
        alerts.alerts_evaluate(t0 + timedelta(seconds=210), cluster="worker")
        link_down["since"] = t0 + timedelta(seconds=230)  # back for a moment: no flapping
        alerts.alerts_evaluate(t0 + timedelta(seconds=240), cluster="worker")
        link_down["since"] = None
        for s in (270, 300, 330):
            alerts.alerts_evaluate(t0 + timedelta(seconds=s), cluster="worker")
        sent = bodies(rsps)
    assert [b["alert"]["state"] for b in sent] == ["firing", "resolved"]
    assert sent[0]["alert"]["rule"] == "link_unreachable" and sent[0]["text"].startswith("[FIRING]")
    assert sent[0]["alert"]["since"] == t0.isoformat().replace("+00:00", "Z")
    assert [m.subject.split("]")[0] for m in mail.outbox] == ["[FIRING", "[RESOLVED"]
    alert = Alert.objects.get()
    assert alert.state == Alert.State.RESOLVED and alert.fired_at == t0 + timedelta(seconds=120)
    assert alert.resolved_at == t0 + timedelta(seconds=330)


def test_a_condition_that_clears_before_its_threshold_is_never_announced(link_down):
    t0 = timezone.now()
    link_down["since"] = t0
    alerts.alerts_evaluate(t0, cluster="worker", deliver=False)
    link_down["since"] = None
    alerts.alerts_evaluate(t0 + timedelta(seconds=30), cluster="worker", deliver=False)
    assert Alert.objects.get().state == Alert.State.CLEARED
    assert not OutboundCall.objects.exists()


def test_many_stores_going_at_once_are_one_message(link_down, channels):
    channels.ALERT_EMAILS = []
    t0 = timezone.now() - timedelta(hours=1)
    for _ in range(30):
        store = StoreFactory(timezone="UTC")
        AvailabilityChange.objects.create(store=store, at=t0, cause="paused_on_link", hours=[])
    ops = StoreFactory(timezone="UTC")
    AvailabilityChange.objects.create(store=ops, at=t0, cause="paused_by_ops", hours=[])
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, HOOK, json={})
        alerts.alerts_evaluate(cluster="worker")
        (body,) = bodies(rsps)
    assert body["alert"]["rule"] == "store_unavailable" and body["alert"]["subject"] == "30 stores"
    assert len(body["alert"]["details"]["stores"]) == 30 and "and 10 more" in body["text"]
    assert Alert.objects.filter(rule="store_unavailable", state="firing").count() == 30


def test_an_undeliverable_alert_fails_its_call(link_down, channels, settings):
    channels.ALERT_EMAILS = []
    settings.ALERT_LINK_UNREACHABLE_SECONDS = 0
    link_down["since"] = timezone.now()
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, HOOK, status=404)
        alerts.alerts_evaluate(cluster="worker")
    call = OutboundCall.objects.get(kind=OutboundCall.Kind.DELIVER_ALERT)
    assert call.status == OutboundCall.Status.FAILED
    assert list(alerts.alerts_undeliverable()) == [call]


def test_silent_clusters(monkeypatch):
    from django_q.models import Schedule

    now = timezone.now()
    Schedule.objects.filter(name=alerts.SWEEP_SCHEDULE).update(next_run=now + timedelta(seconds=20))
    WorkerHeartbeat.objects.create(host="w1", beat_at=now - timedelta(seconds=400))
    ClusterBeat.objects.create(name="webhooks", beat_at=now - timedelta(seconds=10))
    (silent,) = alerts._worker_silent(now)
    assert silent.subject == "worker"
    Schedule.objects.filter(name=alerts.SWEEP_SCHEDULE).update(next_run=now - timedelta(seconds=300))
    (silent,) = alerts._worker_silent(now)
    assert silent.subject == "scheduler"

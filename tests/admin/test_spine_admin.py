import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integration.models import OutboundCall, Store, WebhookEvent
from integration.services import link_events as webhooks
from tests.conftest import store_connected
from tests.factories import OutboundCallFactory, StoreFactory, WebhookEventFactory

pytestmark = pytest.mark.django_db


def test_pause_asks_for_a_reason_then_pauses_and_logs(client, ops, no_broker):
    store = StoreFactory()
    url = reverse("admin:integration_store_changelist")
    form = client.post(url, {"action": "pause_stores", "_selected_action": [store.pk]})
    assert form.status_code == 200 and b"reason" in form.content
    done = client.post(
        url,
        {
            "action": "pause_stores",
            "_selected_action": [store.pk],
            "apply": "1",
            "reason": "no drivers",
            "paused_until": "",
        },
        follow=True,
    )
    assert b"paused; Link is being told" in done.content
    store.refresh_from_db()
    assert (store.state, store.pause_reason, store.paused_by) == ("PAUSED", "no drivers", ops)
    assert OutboundCall.objects.filter(kind="pause_store", store=store).count() == 1
    assert LogEntry.objects.filter(user=ops, object_id=str(store.pk)).exists()


def test_pause_form_refuses_a_past_until(client, ops):
    store = StoreFactory()
    resp = client.post(
        reverse("admin:integration_store_changelist"),
        {
            "action": "pause_stores",
            "_selected_action": [store.pk],
            "apply": "1",
            "reason": "x",
            "paused_until": "2001-01-01 10:00",
        },
    )
    assert b"Pick a time in the future" in resp.content
    store.refresh_from_db()
    assert store.state == "ACTIVE"


def test_resume_refuses_an_active_store_with_a_plain_message(client, ops):
    store = StoreFactory()
    resp = client.post(
        reverse("admin:integration_store_changelist"),
        {"action": "resume_stores", "_selected_action": [store.pk]},
        follow=True,
    )
    assert b"only a paused store can be resumed" in resp.content
    assert not OutboundCall.objects.exists()


def test_read_only_user_sees_no_actions_and_cannot_pause(client, viewer):
    store = StoreFactory()
    url = reverse("admin:integration_store_changelist")
    page = client.get(url)
    assert page.status_code == 200 and b"pause_stores" not in page.content
    client.post(url, {"action": "pause_stores", "_selected_action": [store.pk], "apply": "1", "reason": "x"})
    store.refresh_from_db()
    assert store.state == "ACTIVE"


def test_replay_action_applies_a_failed_event(client, ops, post_event, monkeypatch):
    monkeypatch.setitem(webhooks.HANDLERS, "store.connected", lambda e, d: 1 / 0)
    post_event(store_connected())
    monkeypatch.undo()
    event = WebhookEvent.objects.get()
    resp = client.post(
        reverse("admin:integration_webhookevent_changelist"),
        {"action": "replay", "_selected_action": [event.pk]},
        follow=True,
    )
    assert b"applied: processed" in resp.content
    assert Store.objects.exists()


def test_retry_now_action(client, ops, no_broker):
    call = OutboundCallFactory(status=OutboundCall.Status.FAILED)
    resp = client.post(
        reverse("admin:integration_outboundcall_changelist"),
        {"action": "retry_now", "_selected_action": [call.pk]},
        follow=True,
    )
    assert b"queued for an immediate try" in resp.content
    call.refresh_from_db()
    assert call.status == "PENDING"


@pytest.mark.parametrize("name", ["store", "outboundcall", "webhookevent"])
def test_lists_issue_no_query_per_row(client, ops, name):
    url = reverse(f"admin:integration_{name}_changelist")

    def make(n):
        for _ in range(n):
            store = StoreFactory(state=Store.State.PAUSED, paused_by=ops, pause_reason="r")
            OutboundCallFactory(store=store)
            WebhookEventFactory(type="store.paused", venue_id=store.venue_id)

    make(2)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    make(20)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(small) == len(large)

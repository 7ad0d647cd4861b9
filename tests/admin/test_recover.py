"""Issue 13: "retry everything that failed since ..." from the dashboard, refusing what cannot be retried."""

from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from integration.models import Order, OutboundCall, Store
from tests.factories import OutboundCallFactory
from tests.order_fixtures import make_store

pytestmark = pytest.mark.django_db

RECOVER = "/admin/recover/"


def failed_order(store, *, minutes_ago=5) -> Order:
    order = Order.objects.create(store=store, placed_at=timezone.now(), state=Order.State.FAILED)
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes_ago))
    return order


def messages_of(response) -> str:
    return " | ".join(str(m) for m in response.context["messages"])


def test_retry_since_resubmits_failed_orders_and_sends_waiting_and_failed_calls_now(
    client, ops, no_broker, django_capture_on_commit_callbacks
):
    store = make_store()
    paused = make_store("ven_2", "sf_2")
    Store.objects.filter(pk=paused.pk).update(state=Store.State.PAUSED)
    now = timezone.now()
    retried, refused, too_old = failed_order(store), failed_order(paused), failed_order(store, minutes_ago=120)
    waiting = OutboundCallFactory(
        kind=OutboundCall.Kind.SUBMIT_ORDER,
        order=Order.objects.create(store=store, placed_at=now),
        store=store,
        attempts=3,
        next_attempt_at=now + timedelta(minutes=4),
    )
    failed_fetch = OutboundCallFactory(
        kind=OutboundCall.Kind.FETCH_MENU, store=store, status=OutboundCall.Status.FAILED, completed_at=now
    )
    superseded = OutboundCallFactory(
        kind=OutboundCall.Kind.FETCH_MENU, store=paused, status=OutboundCall.Status.FAILED, completed_at=now
    )
    OutboundCallFactory(kind=OutboundCall.Kind.FETCH_MENU, store=paused, status=OutboundCall.Status.SUCCEEDED)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RECOVER, {"preset": "60"}, follow=True)
    assert response.redirect_chain[-1][0] == "/admin/"
    said = messages_of(response)
    assert Order.objects.get(pk=retried.pk).state == Order.State.PENDING
    assert Order.objects.get(pk=refused.pk).state == Order.State.FAILED
    assert f"{refused}: not done." in said and "does not take orders now: paused" in said
    assert Order.objects.get(pk=too_old.pk).state == Order.State.FAILED  # failed before the chosen time
    waiting.refresh_from_db()
    assert waiting.next_attempt_at <= timezone.now() and waiting.status == OutboundCall.Status.PENDING
    assert OutboundCall.objects.get(pk=failed_fetch.pk).status == OutboundCall.Status.PENDING
    assert OutboundCall.objects.get(pk=superseded.pk).status == OutboundCall.Status.FAILED
    assert set(no_broker) >= {waiting.pk, failed_fetch.pk}
    logged = set(LogEntry.objects.values_list("object_id", flat=True))
    assert {str(retried.pk), str(refused.pk), str(waiting.pk), str(failed_fetch.pk)} <= logged


def test_retry_since_an_exact_time_and_nothing_to_do(client, ops, no_broker):
    store = make_store()
    order = failed_order(store, minutes_ago=120)
    response = client.post(
        RECOVER, {"since": (timezone.now() - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M")}, follow=True
    )
    assert "No orders to retry since" in messages_of(response)
    assert Order.objects.get(pk=order.pk).state == Order.State.FAILED
    response = client.post(RECOVER, {"since": "yesterday-ish"}, follow=True)
    assert "Not retried" in messages_of(response)


def test_support_may_not_retry_and_the_form_is_not_shown(client, support):
    assert 'id="recover"' not in client.get("/admin/").content.decode()
    assert client.post(RECOVER, {"preset": "60"}).status_code == 403


def test_ops_sees_the_form_and_a_get_is_refused(client, ops):
    assert 'id="recover"' in client.get("/admin/").content.decode()
    assert client.get(RECOVER).status_code == 405

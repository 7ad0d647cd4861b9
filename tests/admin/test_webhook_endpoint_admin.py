"""Ops see every MP webhook endpoint with its delivery log, and disable or re-enable it."""

import re

import pytest
from django.utils import timezone

from integration.models import NotificationEvent, OutboundCall, WebhookEndpoint
from tests.admin.test_ops_actions import act, logged
from tests.order_fixtures import api_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint():
    ep = WebhookEndpoint.objects.create(
        client=api_user("courier-dispatch"), url="https://hooks.mp.test/in", event_types=["order.ready"]
    )
    event = NotificationEvent.objects.create(type="order.ready", timestamp=timezone.now(), data={})
    OutboundCall.objects.create(
        kind=OutboundCall.Kind.DELIVER_EVENT,
        path=ep.url,
        endpoint=ep,
        event=event,
        status=OutboundCall.Status.PENDING,
        last_status_code=503,
        last_error="http_503: the endpoint answered 503",
        next_attempt_at=timezone.now(),
        deadline=timezone.now(),
    )
    return ep


def test_the_page_shows_the_delivery_log_and_never_the_secret(client, ops, endpoint):
    page = client.get(f"/admin/integration/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert "order.ready" in page and "the endpoint answered 503" in page
    assert endpoint.secret not in page
    every = client.get(f"/admin/integration/delivery/?endpoint__id__exact={endpoint.pk}")
    assert every.status_code == 200 and every.content.count(b'class="action-select"') == 1


def test_ops_disable_and_re_enable_an_endpoint_and_the_log_says_who(client, ops, endpoint):
    done = act(client, "webhookendpoint", "disable", [endpoint])
    assert "disabled" in done
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == "disabled by ops (ops-1)"
    assert OutboundCall.objects.get().status == OutboundCall.Status.SKIPPED
    again = act(client, "webhookendpoint", "disable", [endpoint])
    assert "it is already disabled" in again
    act(client, "webhookendpoint", "enable", [endpoint])
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == ""
    assert [m.split(":")[0] for m in logged(ops, endpoint)] == ["Disable", "Disable", "Re-enable"]


def test_support_sees_endpoints_but_may_not_disable_them(client, support, endpoint):
    assert client.get("/admin/integration/webhookendpoint/").status_code == 200
    answer = client.post(
        "/admin/integration/webhookendpoint/", {"action": "disable", "_selected_action": [endpoint.pk]}
    )
    assert answer.status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.enabled


def test_the_page_and_the_dashboard_show_how_far_behind_an_endpoint_is(client, ops, endpoint):
    from datetime import timedelta

    from integration import metrics
    from tests.scrape import samples, value

    OutboundCall.objects.filter(endpoint=endpoint).update(created_at=timezone.now() - timedelta(seconds=90))
    page = client.get(f"/admin/integration/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert "Lag (oldest undelivered event)" in page and re.search(r">\s*(9\d|1\d\d)\.\d s\s*<", page)
    live = client.get("/admin/live/").content.decode()
    assert 'id="delivery-lag"' in live and f'data-endpoint="{endpoint.pk}"' in live and "courier-dispatch" in live
    type(endpoint).objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(seconds=30))
    assert re.search(
        r"failing since <time [^>]*>\d\d:\d\d(:\d\d)? UTC</time>", client.get("/admin/live/").content.decode()
    )
    lag = value(samples(metrics.render().decode()), "linkbridge_mp_delivery_lag_seconds", endpoint=str(endpoint.pk))
    assert 90 <= lag < 200

    OutboundCall.objects.filter(endpoint=endpoint).update(status=OutboundCall.Status.SUCCEEDED)
    assert "nothing waiting" in client.get(f"/admin/integration/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert 'id="delivery-lag"' not in client.get("/admin/live/").content.decode()

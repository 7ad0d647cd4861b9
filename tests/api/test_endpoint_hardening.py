"""Issue 23 rows H8, H9, H13: endpoint secrets, how many a client may have, and who may re-enable one."""

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from integration.models import NotificationEvent, WebhookEndpoint
from integration.services.mp_events import endpoints
from integration.services.mp_events import events as n
from integration.services.mp_events.deliveries import delivery_request
from tests.order_fixtures import api_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhook-endpoints/"


@pytest.fixture(autouse=True)
def hosts(settings):
    settings.MP_WEBHOOK_HOSTS = ["hooks.mp.test", "127.0.0.1:9000"]


def create(client, url="https://hooks.mp.test/in", event_types=("order.ready",)):
    return client.post(URL, {"url": url, "event_types": list(event_types)}, format="json")


def test_h8_every_secret_issued_in_the_overlap_still_signs_after_two_rotations(settings):
    settings.MP_WEBHOOK_SECRET_OVERLAP_HOURS = 24
    client = api_client()
    created = create(client).json()
    first = client.post(f"{URL}{created['id']}/rotate-secret/").json()
    second = client.post(f"{URL}{created['id']}/rotate-secret/").json()  # a retried rotate call, say
    secrets = [created["secret"], first["secret"], second["secret"]]
    assert len(set(secrets)) == 3
    event = NotificationEvent.objects.create(type="order.ready", timestamp=timezone.now(), data={"x": 1})
    body, headers = delivery_request(WebhookEndpoint.objects.get(), event)
    assert len(headers["webhook-signature"].split(" ")) == 3
    for secret in secrets:
        assert Webhook(secret).verify(body, headers) == n.event_body(event)
    assert second["previous_secret_until"] is not None

    # Each previous secret expires on its own clock: 25 h on, only the current one signs.
    later = timezone.now() + timedelta(hours=25)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoints.endpoint_secrets(endpoint, later) == [second["secret"]]


def test_h8_expired_previous_secrets_are_dropped_at_the_next_rotation(settings):
    settings.MP_WEBHOOK_SECRET_OVERLAP_HOURS = 24
    client = api_client()
    endpoint = WebhookEndpoint.objects.get(pk=create(client).json()["id"])
    start = timezone.now()
    for hours in range(0, 100, 10):
        endpoint = endpoints.endpoint_rotate_secret(endpoint, now=start + timedelta(hours=hours))
    assert len(endpoint.previous_secrets) == 3  # issued at 70, 80 and 90 h; older ones expired
    assert len(endpoints.endpoint_secrets(endpoint, start + timedelta(hours=90))) == 4


def test_h9_a_client_may_register_mp_webhook_endpoints_per_client_endpoints_and_no_more(settings):
    settings.MP_WEBHOOK_ENDPOINTS_PER_CLIENT = 3
    client = api_client()
    for _ in range(3):
        assert create(client).status_code == 201
    refused = create(client)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "too_many_endpoints" and "3" in error["message"]
    assert error["details"] == {"limit": 3}
    assert WebhookEndpoint.objects.count() == 3
    WebhookEndpoint.objects.filter(pk=WebhookEndpoint.objects.first().pk).delete()
    assert create(client).status_code == 201  # a deleted one frees its place


def test_h9_the_cap_defaults_to_20():
    from django.conf import settings

    assert settings.MP_WEBHOOK_ENDPOINTS_PER_CLIENT == 20


def test_h13_an_api_client_cannot_lift_a_disable_by_ops():
    client = api_client()
    endpoint_id = create(client).json()["id"]
    endpoints.endpoint_disable(WebhookEndpoint.objects.get(), reason="disabled by ops (ops-1)", by_ops=True)
    answer = client.patch(f"{URL}{endpoint_id}/", {"enabled": True, "description": "x"}, format="json")
    assert answer.status_code == 409, answer.json()
    error = answer.json()["error"]
    assert error["code"] == "disabled_by_ops" and "disabled by ops (ops-1)" in error["message"]
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.enabled, endpoint.disabled_reason, endpoint.description) == (
        False,
        "disabled by ops (ops-1)",
        "",
    )
    endpoints.endpoint_enable(endpoint)  # ops lift it
    assert client.patch(f"{URL}{endpoint_id}/", {"enabled": False}, format="json").status_code == 200
    assert client.patch(f"{URL}{endpoint_id}/", {"enabled": True}, format="json").json()["enabled"] is True


def test_h13_an_api_client_may_re_enable_what_it_or_a_failure_disabled():
    client = api_client()
    endpoint_id = create(client).json()["id"]
    endpoints.endpoint_disable(WebhookEndpoint.objects.get(), reason="answered 410 Gone", auto=True)
    assert client.patch(f"{URL}{endpoint_id}/", {"enabled": True}, format="json").json()["enabled"] is True

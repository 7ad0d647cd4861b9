"""/api/v1/webhook-endpoints/ and /api/v1/events/: ownership, URL rules, secrets, the feed."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from standardwebhooks import Webhook, WebhookVerificationError

from integration.models import NotificationEvent, Order, WebhookEndpoint
from integration.services.mp_events import events as n
from integration.services.mp_events.deliveries import delivery_request
from tests.order_fixtures import api_client, api_user, link_takes, make_store, order_event, place

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhook-endpoints/"


@pytest.fixture(autouse=True)
def hosts(settings):
    settings.MP_WEBHOOK_HOSTS = ["hooks.mp.test", "127.0.0.1:9000", "localhost"]


def create(client, url="https://hooks.mp.test/linkbridge", event_types=("order.ready",), **extra):
    return client.post(URL, {"url": url, "event_types": list(event_types), **extra}, format="json")


def test_create_shows_the_secret_once():
    client = api_client()
    created = create(client, description="customer app")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(Webhook(body["secret"])._whsecret) == 32
    assert (body["url"], body["event_types"], body["enabled"]) == (
        "https://hooks.mp.test/linkbridge",
        ["order.ready"],
        True,
    )
    listed = client.get(URL).json()
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]
    assert "secret" not in client.get(f"{URL}{body['id']}/").json()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.mp.test/in", "https is required"),
        ("https://evil.test/in", "not in MP_WEBHOOK_HOSTS"),
        ("https://hooks.mp.test:8443/in", "not in MP_WEBHOOK_HOSTS"),
        ("https://user:pw@hooks.mp.test/in", "credentials"),
        ("ftp://hooks.mp.test/in", "not an http(s) URL"),
        ("http://127.0.0.1:9001/in", "not in MP_WEBHOOK_HOSTS"),
        ("not a url", "not an http(s) URL"),
    ],
)
def test_urls_outside_the_rules_are_refused_and_nothing_is_stored(url, why):
    answer = create(api_client(), url=url)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "url_not_allowed" and why in answer.json()["error"]["message"]
    assert not WebhookEndpoint.objects.exists()


def test_plain_http_is_fine_on_loopback():
    client = api_client()
    assert create(client, url="http://127.0.0.1:9000/in").status_code == 201
    assert create(client, url="http://localhost/in").status_code == 201


def test_unknown_event_types_and_bad_shapes_are_422():
    client = api_client()
    unknown = create(client, event_types=["order.ready", "order.eaten"])
    assert unknown.status_code == 422 and unknown.json()["error"]["details"]["unknown"] == ["order.eaten"]
    assert create(client, event_types=[]).status_code == 422
    missing = client.post(URL, {"event_types": ["order.ready"]}, format="json")
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "url"


def test_patch_changes_what_it_names_and_checks_the_url():
    client = api_client()
    endpoint_id = create(client).json()["id"]
    patched = client.patch(f"{URL}{endpoint_id}/", {"event_types": n.EVENT_TYPES}, format="json")
    assert patched.status_code == 200 and patched.json()["event_types"] == list(n.EVENT_TYPES)
    refused = client.patch(f"{URL}{endpoint_id}/", {"url": "https://evil.test/"}, format="json")
    assert refused.status_code == 422
    assert WebhookEndpoint.objects.get().url == "https://hooks.mp.test/linkbridge"
    off = client.patch(f"{URL}{endpoint_id}/", {"enabled": False}, format="json").json()
    assert (off["enabled"], off["disabled_reason"]) == (False, "disabled by its client")
    on = client.patch(f"{URL}{endpoint_id}/", {"enabled": True}, format="json").json()
    assert (on["enabled"], on["disabled_reason"]) == (True, "")


def test_another_clients_endpoint_does_not_exist_for_you():
    alice, bob = api_client(api_user("alice")), api_client(api_user("bob"))
    endpoint_id = create(alice).json()["id"]
    assert bob.get(URL).json() == []
    for answer in (
        bob.get(f"{URL}{endpoint_id}/"),
        bob.patch(f"{URL}{endpoint_id}/", {"event_types": ["order.ready"]}, format="json"),
        bob.delete(f"{URL}{endpoint_id}/"),
        bob.post(f"{URL}{endpoint_id}/rotate-secret/"),
    ):
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert alice.delete(f"{URL}{endpoint_id}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_after_a_rotation_both_secrets_verify_during_the_overlap_and_only_the_new_one_after(settings):
    settings.MP_WEBHOOK_SECRET_OVERLAP_HOURS = 24
    client = api_client()
    created = create(client).json()
    rotated = client.post(f"{URL}{created['id']}/rotate-secret/")
    assert rotated.status_code == 200
    old, new = created["secret"], rotated.json()["secret"]
    assert new != old and new.startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get()
    event = NotificationEvent.objects.create(type="order.ready", timestamp=timezone.now(), data={"x": 1})

    body, headers = delivery_request(endpoint, event)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == n.event_body(event)

    expired = (timezone.now() - timedelta(seconds=1)).isoformat()
    WebhookEndpoint.objects.update(previous_secrets=[{"secret": old, "until": expired}])
    body, headers = delivery_request(WebhookEndpoint.objects.get(), event)
    assert len(headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new).verify(body, headers) == n.event_body(event)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(body, headers)


def test_the_feed_pages_a_clients_events_and_refuses_bad_cursors(mocked_link):
    make_store()
    alice, bob = api_client(api_user("alice")), api_client(api_user("bob"))
    order = link_takes(mocked_link, place(user=alice.user), "ord_1")
    order_event("order.ready", order, event_id="evt_r")
    link_takes(mocked_link, place(user=bob.user), "ord_2")

    first = alice.get("/api/v1/events/?limit=1").json()
    assert [e["type"] for e in first["data"]] == [n.ORDER_SUBMITTED]
    event = NotificationEvent.objects.get(event_id=first["data"][0]["id"])
    assert {k: first["data"][0][k] for k in ("type", "timestamp", "data")} == n.event_body(event)
    rest = alice.get(f"/api/v1/events/?after={first['next']}").json()
    assert [e["type"] for e in rest["data"]] == [n.ORDER_READY]
    assert alice.get(f"/api/v1/events/?after={rest['next']}").json() == {"data": [], "next": rest["next"]}
    bobs = bob.get("/api/v1/events/").json()["data"]
    assert [e["data"]["external_order_id"] for e in bobs] == [Order.objects.get(created_by=bob.user).external_order_id]
    assert alice.get("/api/v1/events/?after=abc").json()["error"]["code"] == "invalid_cursor"
    assert alice.get(f"/api/v1/events/?after={'9' * 19}").json()["error"]["code"] == "invalid_cursor"  # not a bigint
    assert alice.get("/api/v1/events/?after=&limit=").status_code == 200  # empty means unset
    assert alice.get("/api/v1/events/?limit=0").status_code == 400
    assert alice.get("/api/v1/events/?limit=501").status_code == 400


def test_the_schema_documents_the_endpoints_and_the_feed(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/webhook-endpoints/",
        "/api/v1/webhook-endpoints/{endpoint_id}/",
        "/api/v1/webhook-endpoints/{endpoint_id}/rotate-secret/",
        "/api/v1/events/",
    ):
        assert path in schema["paths"], path


def test_bodies_are_json_and_staff_sessions_and_other_clients_get_nothing(settings):
    from django.contrib.auth.models import User

    client = api_client()
    form = client.post(URL, {"url": "https://hooks.mp.test/x", "event_types": "order.ready"})
    assert form.status_code == 415 and form.json()["error"]["code"] == "unsupported_media_type"
    endpoint_id = create(client).json()["id"]
    back_office = api_client(api_user("back-office", permissions=["see_all_orders"]))
    assert back_office.get(URL).json() == [] and back_office.get(f"{URL}{endpoint_id}/").status_code == 404
    staff = APIClient()
    staff.force_login(User.objects.create_superuser("root", password="x" * 12))
    assert staff.get(URL).status_code == 403 and staff.get("/api/v1/events/").status_code == 403

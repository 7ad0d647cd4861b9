"""Issue 23: hostile requests to the API, the health checks and Link's webhook get a clear 4xx (or their
answer), never a 500, and change nothing."""

import json

import pytest
from rest_framework.test import APIClient

from integration.models import Order, WebhookEndpoint, WebhookEvent
from integration.services.ops.api_clients import api_client_create
from tests.conftest import store_connected
from tests.order_fixtures import api_client, api_user, make_store, order_request

pytestmark = pytest.mark.django_db

DEEP = ("[" * 1000 + "]" * 1000).encode()
DEEP_OBJECT = ('{"a":' * 1000 + "1" + "}" * 1000).encode()


def assert_error(resp, status: int, code: str | None = None):
    assert resp.status_code == status, resp.content[:500]
    body = resp.json()
    assert set(body["error"]) == {"code", "message", "details"}, body
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


def no_permissions_client() -> APIClient:
    return api_client(api_user("nobody", permissions=[]))


@pytest.mark.parametrize("raw", [DEEP, DEEP_OBJECT], ids=["list", "object"])
@pytest.mark.parametrize("who", ["placer", "nobody"])
def test_h1_a_1000_deep_json_body_is_400_everywhere(raw, who):
    make_store()
    api = api_client() if who == "placer" else no_permissions_client()
    placed = api_client(api_user("checkout-2")).post("/api/v1/orders/", order_request(), format="json")
    order_id = placed.json()["external_order_id"]
    endpoint = api.post(
        "/api/v1/webhook-endpoints/",
        {"url": "https://hooks.example.com/x", "event_types": ["order.ready"]},
        format="json",
    )
    before = (Order.objects.count(), WebhookEndpoint.objects.count())
    for method, path in [
        ("post", "/api/v1/orders/"),
        ("post", f"/api/v1/orders/{order_id}/cancel/"),
        ("post", "/api/v1/webhook-endpoints/"),
        ("patch", f"/api/v1/webhook-endpoints/{endpoint.json().get('id', 1)}/"),
    ]:
        resp = getattr(api, method)(path, data=raw, content_type="application/json")
        if resp.status_code in (403, 404):
            continue  # refused before the body is read: also no 500
        error = assert_error(resp, 400, "parse_error")
        assert "deeper than 32 levels" in error["message"], error
    assert (Order.objects.count(), WebhookEndpoint.objects.count()) == before


def test_h1_deep_json_to_the_webhook_is_400(post_event):
    resp = post_event(None, raw=DEEP)
    assert_error(resp, 400, "malformed_json")
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("accept", ["text/html", "text/html,application/xhtml+xml,*/*;q=0.8", "image/png", "x/y"])
@pytest.mark.parametrize("path", ["/healthz/", "/readyz/"])
def test_h2_health_answers_whatever_the_accept_header(client, path, accept, monkeypatch):
    monkeypatch.setattr("integration.api.health.readiness_problems", lambda: {})
    resp = client.get(path, HTTP_ACCEPT=accept)
    assert resp.status_code == 200, resp.content[:300]
    assert resp["Content-Type"].startswith("application/json")


def test_h3_a_signed_event_with_accept_html_is_2xx(post_event, client):
    from integration.link import signatures
    from tests.conftest import SECRET

    raw = json.dumps(store_connected()).encode()
    resp = client.post(
        "/link/webhooks/",
        data=raw,
        content_type="application/json",
        HTTP_ACCEPT="text/html",
        HTTP_LINK_SIGNATURE=signatures.sign(raw, [SECRET], None),
    )
    assert resp.status_code == 200, resp.content[:300]
    assert resp.json()["status"] == "PROCESSED"


@pytest.mark.parametrize(
    ("customer", "fields"),
    [
        (None, {"customer"}),
        ({}, {"customer.name", "customer.phone"}),
        ({"name": "Ada"}, {"customer.phone"}),
        ({"name": "", "phone": "+15555550100"}, {"customer.name"}),
        ({"name": "Ada", "phone": "   "}, {"customer.phone"}),
    ],
)
def test_h16_an_order_without_a_customer_name_and_phone_is_422_naming_the_field(customer, fields):
    make_store()
    body = order_request()
    if customer is None:
        del body["customer"]
    else:
        body["customer"] = customer
    resp = api_client().post("/api/v1/orders/", body, format="json")
    error = assert_error(resp, 422, "invalid_order")
    assert {d["field"] for d in error["details"]} == fields, error
    assert not Order.objects.exists()


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_h17_a_json_body_without_its_content_type_names_the_content_type(content_type):
    make_store()
    api = api_client()
    raw = json.dumps(order_request()).encode()
    if content_type is None:
        resp = api.generic("POST", "/api/v1/orders/", raw, content_type="")
    else:
        resp = api.post("/api/v1/orders/", data=raw, content_type=content_type)
    error = assert_error(resp, 415, "unsupported_media_type")
    assert "Content-Type: application/json" in error["message"], error
    assert not Order.objects.exists()


def test_h17_a_bearer_token_is_told_to_use_the_token_scheme():
    api_client_create("checkout")
    from rest_framework.authtoken.models import Token

    key = Token.objects.get(user__username="checkout").key
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    error = assert_error(api.get("/api/v1/stores/"), 401)
    assert "Authorization: Token <key>" in error["message"], error


def test_h10_a_client_past_api_rate_limit_gets_429_with_retry_after(settings):
    settings.API_RATE_LIMIT = "3/min"
    api, other = api_client(), api_client(api_user("other"))
    assert [api.get("/api/v1/stores/").status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get("/api/v1/stores/")
    error = assert_error(refused, 429, "throttled")
    assert 0 < int(refused["Retry-After"]) <= 60, error
    assert other.get("/api/v1/stores/").status_code == 200  # per client
    assert APIClient().get("/healthz/").status_code == 200  # never throttled


def test_h10_the_menu_body_is_built_once_per_version(django_assert_max_num_queries):
    from rest_framework.renderers import JSONRenderer

    from integration.models import Menu, MenuItem
    from integration.selectors.menu_layer import catalog_with_layer
    from integration.selectors.menus import menu_catalog
    from integration.selectors.snoozes import catalog_snoozes_apply, snoozes_active

    store = make_store()
    api = api_client()
    first = api.get("/api/v1/stores/sf_1/menu/")
    assert first.status_code == 200 and first["Content-Type"] == "application/json"
    menu = Menu.objects.get(store=store)
    layered = catalog_snoozes_apply(catalog_with_layer(menu_catalog(menu), store), snoozes_active(store))
    rendered = JSONRenderer().render({"store_id": "sf_1", "venue_id": "ven_1", **layered})
    assert first.content == rendered  # what Response(catalog) answered before
    with django_assert_max_num_queries(7):  # token, store+menu, special hours, snoozes, rules (store, all), overrides
        again = api.get("/api/v1/stores/sf_1/menu/")
    assert again.content == first.content and again["ETag"] == first["ETag"]
    MenuItem.objects.filter(menu=menu, link_id="itm_soda").update(available=False)
    menu.revision += 1
    menu.save(update_fields=["revision"])
    changed = api.get("/api/v1/stores/sf_1/menu/")
    assert changed["ETag"] != first["ETag"]
    soda = [i for c in changed.json()["categories"] for i in c["items"] if i["id"] == "itm_soda"]
    assert all(not i["available"] for i in soda)


def test_the_schema_says_min_length_and_min_items_where_the_api_refuses_empty_values():
    schema = APIClient().get("/api/schema/?format=json").json()["components"]["schemas"]
    assert schema["OrderRequest"]["properties"]["store"]["minLength"] == 1
    assert schema["OrderRequest"]["properties"]["items"]["minItems"] == 1
    assert schema["OrderRequest"]["properties"]["items"]["maxItems"] == 100
    assert schema["OrderItemRequest"]["properties"]["item_id"]["minLength"] == 1
    assert schema["ModifierSelection"]["properties"]["modifier_id"]["minLength"] == 1
    assert schema["Customer"]["properties"]["name"]["minLength"] == 1
    assert schema["EndpointRequest"]["properties"]["url"]["minLength"] == 1
    assert schema["EndpointRequest"]["properties"]["event_types"]["minItems"] == 1
    assert "minLength" not in schema["OrderRequest"]["properties"]["notes"]  # blank allowed

"""The internal orders API: POST (idempotency, 201/409/422), GET with timeline, cancel."""

import pytest
from rest_framework.test import APIClient

from integration.models import Order, OutboundCall, Store
from tests.order_fixtures import api_client, api_user, burger_line, make_store, mod, order_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    make_store()
    return api_client()


def test_needs_a_token():
    resp = APIClient().post("/api/v1/orders/", order_request(), format="json")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "not_authenticated"


def test_place_answers_201_with_the_order(api):
    resp = api.post("/api/v1/orders/", order_request(), format="json")
    assert resp.status_code == 201, resp.content
    body = resp.json()
    order = Order.objects.get()
    assert body["external_order_id"] == order.external_order_id
    assert resp["Location"] == f"/api/v1/orders/{order.external_order_id}/"
    assert body["state"] == "PENDING" and len(body["display_code"]) == 6
    assert body["totals"] == {
        "subtotal": 2098,
        "tax": 184,
        "tip": 300,
        "delivery_fee": 0,
        "discount": 0,
        "total": 2582,
        "markup": 0,
    }
    assert body["store"] == {"external_store_id": "sf_1", "venue_id": "ven_1"}
    assert body["lines"][0]["unit_price"] == 1049 and body["lines"][0]["modifiers"][0]["name"] == "Single"
    assert body["cancel"]["status"] == "none"
    assert order.created_by == api.user


def test_idempotent_retry_returns_the_first_order(api):
    first = api.post("/api/v1/orders/", order_request(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/orders/", order_request(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["external_order_id"] == first.json()["external_order_id"]
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Order.objects.count() == 1
    assert OutboundCall.objects.filter(kind=OutboundCall.Kind.SUBMIT_ORDER).count() == 1


def test_same_key_with_another_body_is_refused(api):
    api.post("/api/v1/orders/", order_request(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    resp = api.post("/api/v1/orders/", order_request(tip=0), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_idempotency_keys_are_scoped_to_the_api_client(api):
    other = api_client(api_user("customer-app"))
    a = api.post("/api/v1/orders/", order_request(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    b = other.post("/api/v1/orders/", order_request(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert a.status_code == b.status_code == 201
    assert a.json()["external_order_id"] != b.json()["external_order_id"]


def test_without_a_key_each_post_is_a_new_order(api):
    api.post("/api/v1/orders/", order_request(), format="json")
    api.post("/api/v1/orders/", order_request(), format="json")
    assert Order.objects.count() == 2


def test_overlong_idempotency_key_is_400(api):
    resp = api.post("/api/v1/orders/", order_request(), format="json", HTTP_IDEMPOTENCY_KEY="k" * 201)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_idempotency_key"


def test_menu_problems_are_422_field_by_field(api):
    body = order_request(items=[burger_line(modifiers=[mod("mod_single", "mg_size"), mod("mod_egg", "mg_addons")])])
    resp = api.post("/api/v1/orders/", body, format="json")
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "invalid_order"
    assert error["details"] == [
        {
            "field": "items[0].modifiers[1].modifier_id",
            "code": "unavailable",
            "message": "Fried egg (mod_egg) is not available right now.",
        }
    ]


def test_malformed_fields_are_422_field_by_field_too(api):
    body = order_request(items=[{"item_id": "itm_soda", "quantity": "two"}], fulfillment={"type": "drone"})
    resp = api.post("/api/v1/orders/", body, format="json")
    assert resp.status_code == 422
    fields = {(d["field"], d["code"]) for d in resp.json()["error"]["details"]}
    assert fields == {("items[0].quantity", "invalid"), ("fulfillment.type", "invalid_choice")}


def test_empty_items_and_too_deep_nesting_are_422(api):
    deep = mod(
        "m",
        "g",
        modifiers=[mod("m", "g", modifiers=[mod("m", "g", modifiers=[mod("m", "g", modifiers=[mod("m", "g")])])])],
    )
    resp = api.post("/api/v1/orders/", order_request(items=[]), format="json")
    assert resp.status_code == 422 and resp.json()["error"]["details"][0]["field"] == "items"
    resp = api.post("/api/v1/orders/", order_request(items=[burger_line(modifiers=[deep])]), format="json")
    assert resp.status_code == 422
    assert (
        resp.json()["error"]["details"][0]["field"]
        == "items[0].modifiers[0].modifiers[0].modifiers[0].modifiers[0].modifiers"
    )


def test_not_json_is_400(api):
    resp = api.post("/api/v1/orders/", data="{nope", content_type="application/json")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "parse_error"


def test_store_not_accepting_is_409_with_why(api):
    Store.objects.update(state=Store.State.PAUSED, pause_reason="rush hour")
    resp = api.post("/api/v1/orders/", order_request(), format="json")
    assert resp.status_code == 409
    error = resp.json()["error"]
    assert error["code"] == "store_not_accepting" and error["details"]["reason"] == "paused: rush hour"
    assert "rush hour" in error["message"]


def test_read_an_order_with_its_timeline(api):
    external_id = api.post("/api/v1/orders/", order_request(), format="json").json()["external_order_id"]
    resp = api.get(f"/api/v1/orders/{external_id}/")
    assert resp.status_code == 200
    body = resp.json()
    assert body["state"] == "PENDING" and body["times"]["placed_at"] and body["times"]["submitted_at"] is None
    kinds = [(entry["kind"], entry["status"]) for entry in body["timeline"]]
    assert kinds == [("transition", ""), ("call", "PENDING")]
    assert body["timeline"][0]["by"] == "checkout"


def test_unknown_order_is_404(api):
    resp = api.get("/api/v1/orders/mp_nope/")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


def test_cancel_before_submission_is_200_cancelled(api):
    external_id = api.post("/api/v1/orders/", order_request(), format="json").json()["external_order_id"]
    resp = api.post(
        f"/api/v1/orders/{external_id}/cancel/", {"reason_code": "CUSTOMER_REQUEST", "reason": "oops"}, format="json"
    )
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["state"] == "CANCELLED" and body["cancel"]["status"] == "cancelled"
    assert body["cancelled_by"] == "marketplace" and body["reason_code"] == "CUSTOMER_REQUEST"


def test_cancel_of_a_submitted_order_is_202_requested(api):
    external_id = api.post("/api/v1/orders/", order_request(), format="json").json()["external_order_id"]
    Order.objects.update(link_order_id="ord_1")
    resp = api.post(f"/api/v1/orders/{external_id}/cancel/", {"reason_code": "CUSTOMER_REQUEST"}, format="json")
    assert resp.status_code == 202
    assert resp.json()["cancel"]["status"] == "requested" and resp.json()["state"] == "PENDING"


def test_cancel_of_a_ready_order_is_409(api):
    external_id = api.post("/api/v1/orders/", order_request(), format="json").json()["external_order_id"]
    Order.objects.update(state=Order.State.READY)
    resp = api.post(f"/api/v1/orders/{external_id}/cancel/", {"reason_code": "CUSTOMER_REQUEST"}, format="json")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "cancel_not_allowed"


def test_cancel_needs_a_known_reason_code(api):
    external_id = api.post("/api/v1/orders/", order_request(), format="json").json()["external_order_id"]
    resp = api.post(f"/api/v1/orders/{external_id}/cancel/", {"reason_code": "BORED"}, format="json")
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0] | {"message": ""} == {
        "field": "reason_code",
        "code": "invalid_choice",
        "message": "",
    }


def test_openapi_schema_documents_the_order_endpoints(api):
    schema = api.get("/api/schema/?format=json").json()
    assert {
        "/api/v1/orders/",
        "/api/v1/orders/{external_order_id}/",
        "/api/v1/orders/{external_order_id}/cancel/",
    } <= set(schema["paths"])
    place = schema["paths"]["/api/v1/orders/"]["post"]
    assert {"201", "409", "422"} <= set(place["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in place["parameters"])

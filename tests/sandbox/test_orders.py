"""POST /v2/orders, GET and cancel (contract sections 3 and 5)."""

from .conftest import order_body


def test_same_idempotency_key_creates_one_order_and_answers_the_same_201(sandbox, control, api):
    control.set_restaurant(auto=False)
    first = api.submit(order_body("mp_1"))
    again = api.submit(order_body("mp_1"))
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert first.json()["status"] == "INIT"
    assert first.json()["order_id"].startswith("ord_")

    (order,) = control.orders()
    assert order["external_order_id"] == "mp_1"
    assert order["submissions"] == 2
    assert order["created"] == 1
    assert [c["headers"]["Idempotency-Key"] for c in control.calls("POST", "/v2/orders")] == ["mp_1", "mp_1"]


def test_idempotency_key_is_required_and_must_be_the_external_order_id(sandbox, control, api):
    missing = api.call("POST", "/v2/orders", order_body("mp_1"))
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "idempotency_key_required"

    other = api.submit(order_body("mp_1"), key="something-else")
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["error"]["details"]
    assert control.orders() == []


def test_paused_unknown_and_disconnected_venues_answer_409(sandbox, control, api):
    control.connect_venue("ven_2")
    control.connect_venue("ven_3")
    assert api.call("POST", "/v2/venues/ven_1/pause", {"reason": "busy", "paused_until": None}).status_code == 200
    control.pause_venue("ven_2", "Kitchen fire drill")
    control.disconnect_venue("ven_3")

    for venue_id, status in (("ven_1", "PAUSED"), ("ven_2", "PAUSED"), ("ven_3", "DISCONNECTED"), ("ven_x", "UNKNOWN")):
        response = api.submit(order_body(f"mp_{venue_id}", venue_id))
        assert response.status_code == 409, venue_id
        error = response.json()["error"]
        assert error["code"] == "store_not_accepting"
        assert error["details"] == {"venue_id": venue_id, "status": status}
    assert control.orders() == []


def test_bad_totals_and_missing_fields_answer_422_with_details(sandbox, control, api):
    bad_subtotal = order_body("mp_1")
    bad_subtotal["totals"] = {**bad_subtotal["totals"], "subtotal": 1948, "total": 2432}  # modifier not per unit
    response = api.submit(bad_subtotal)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_order"
    assert "totals.subtotal" in error["details"]

    bad_total = order_body("mp_2")
    bad_total["totals"] = {**bad_total["totals"], "total": 2000}
    assert "totals.total" in api.submit(bad_total).json()["error"]["details"]

    bare = {"external_order_id": "mp_3"}
    details = api.submit(bare).json()["error"]["details"]
    assert {"venue_id", "items", "totals", "currency", "fulfillment.type"} <= set(details)

    discounted = order_body("mp_4")
    discounted["totals"] = {**discounted["totals"], "discount": 500, "delivery_fee": 299, "total": 2381}
    assert api.submit(discounted).status_code == 201
    assert [o["external_order_id"] for o in control.orders()] == ["mp_4"]


def test_nested_modifiers_count_per_unit(sandbox, control, api):
    body = order_body("mp_1")
    body["items"][0]["modifiers"][0]["modifiers"] = [
        {"modifier_id": "mod_9", "group_id": "mg_9", "quantity": 2, "unit_price": 25, "modifiers": []}
    ]
    # 2 x (899 + 1 x (150 + 2 x 25)) = 2198
    body["totals"] = {"subtotal": 2198, "tax": 0, "tip": 0, "delivery_fee": 0, "discount": 0, "total": 2198}
    assert api.submit(body).status_code == 201


def test_get_order_and_unknown_ids(sandbox, control, api):
    control.set_restaurant(auto=False)
    order_id = api.submit(order_body("mp_1")).json()["order_id"]
    body = api.call("GET", f"/v2/orders/{order_id}").json()
    assert set(body) == {
        "order_id",
        "external_order_id",
        "status",
        "estimated_ready_at",
        "reason_code",
        "reason",
        "updated_at",
    }
    assert body["status"] == "INIT"
    assert api.call("GET", "/v2/orders/ord_nope").status_code == 404
    assert api.call("GET", "/v2/orders/ord_nope").json()["error"]["code"] == "order_not_found"
    assert api.call("GET", "/v2/venues/ven_nope").status_code == 404
    assert api.call("POST", "/v2/orders/ord_nope/cancel", {"reason_code": "OTHER"}).status_code == 404


def test_cancel_then_409_and_cancel_after_ready_is_refused(sandbox, control, api, receiver):
    control.set_restaurant(auto=False)
    first = api.submit(order_body("mp_1")).json()["order_id"]
    cancel = api.call(
        "POST", f"/v2/orders/{first}/cancel", {"reason_code": "CUSTOMER_REQUEST", "reason": "changed mind"}
    )
    assert cancel.status_code == 200
    assert cancel.json() == {"status": "CANCELLED"}
    again = api.call("POST", f"/v2/orders/{first}/cancel", {"reason_code": "CUSTOMER_REQUEST", "reason": ""})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "cancel_not_allowed"
    assert again.json()["error"]["details"]["status"] == "CANCELLED"

    second = api.submit(order_body("mp_2")).json()["order_id"]
    control.advance_order("mp_2", "READY")
    late = api.call("POST", f"/v2/orders/{second}/cancel", {"reason_code": "CUSTOMER_REQUEST", "reason": ""})
    assert late.status_code == 409
    assert late.json()["error"]["details"]["status"] == "READY"
    assert api.call("GET", f"/v2/orders/{second}").json()["status"] == "READY"

    orders = {o["external_order_id"]: o for o in control.orders()}
    assert [r["answer"] for r in orders["mp_1"]["cancel_requests"]] == [200, 409]
    assert orders["mp_1"]["cancelled_by"] == "marketplace"
    control.wait_quiet(5)
    assert "order.cancelled" not in receiver.types("order.")  # an MP cancel emits no webhook


def test_cancel_needs_a_reason_code(sandbox, control, api):
    order_id = api.submit(order_body("mp_1")).json()["order_id"]
    response = api.call("POST", f"/v2/orders/{order_id}/cancel", {"reason": "no code"})
    assert response.status_code == 422


def test_mp_cancel_stops_the_restaurant(sandbox, control, api, receiver):
    control.set_restaurant(confirm_after=0.3)
    order_id = api.submit(order_body("mp_1")).json()["order_id"]
    assert api.call("POST", f"/v2/orders/{order_id}/cancel", {"reason_code": "OTHER"}).status_code == 200
    assert control.wait_quiet(5)["pending_timers"] == 0
    assert control.order("mp_1")["status"] == "CANCELLED"
    assert receiver.types("order.") == []

"""Venues: MP-side pause/resume and reads, restaurant-side store events, the control API around them."""

from .conftest import order_body


def test_connect_emits_store_connected(sandbox, control, receiver):
    control.wait_quiet(5)
    (event,) = receiver.events("store.")
    assert event["type"] == "store.connected"
    assert event["venue_id"] == "ven_1"
    assert event["id"].startswith("evt_")
    assert set(event) == {"id", "type", "created_at", "venue_id", "data", "_status", "_content_type"}
    assert event["_content_type"] == "application/json"
    assert event["data"]["name"] == "Burger Barn"
    assert event["data"]["external_store_id"] == "sf_1"
    assert set(event["data"]["address"]) == {"line1", "city", "region", "postal_code", "country"}
    assert event["created_at"].endswith("Z")


def test_mp_pause_and_resume(sandbox, control, api, receiver):
    until = "2099-01-01T00:00:00Z"
    paused = api.call("POST", "/v2/venues/ven_1/pause", {"reason": "Too busy", "paused_until": until})
    assert paused.status_code == 200
    assert paused.json() == {"status": "PAUSED", "paused_until": until}
    venue = api.call("GET", "/v2/venues/ven_1").json()
    assert venue == {
        "venue_id": "ven_1",
        "name": "Burger Barn",
        "status": "PAUSED",
        "paused_until": until,
        "accepting_orders": False,
        "menu": None,
    }
    resumed = api.call("POST", "/v2/venues/ven_1/resume", {})
    assert resumed.json() == {"status": "ACTIVE"}
    api.call("POST", "/v2/venues/ven_1/resume", {})
    inspected = control.venue("ven_1")
    assert inspected["mp_pause_calls"] == 1
    assert inspected["mp_resume_calls"] == 2
    assert inspected["status"] == "ACTIVE"
    control.wait_quiet(5)
    assert receiver.types("store.") == ["store.connected"]  # MP-side pauses emit nothing


def test_pause_with_bad_paused_until_is_422(sandbox, control, api):
    response = api.call("POST", "/v2/venues/ven_1/pause", {"reason": "x", "paused_until": "tomorrow"})
    assert response.status_code == 422


def test_a_pause_ends_by_itself_at_paused_until(sandbox, control, api):
    api.call("POST", "/v2/venues/ven_1/pause", {"reason": "x", "paused_until": "2000-01-01T00:00:00Z"})
    assert api.call("GET", "/v2/venues/ven_1").json()["status"] == "ACTIVE"
    assert api.submit(order_body("mp_1")).status_code == 201


def test_restaurant_side_store_events(sandbox, control, api, receiver):
    control.pause_venue("ven_1", "Out of buns", paused_until="2099-01-01T00:00:00Z")
    assert api.call("GET", "/v2/venues/ven_1").json()["status"] == "PAUSED"
    control.resume_venue("ven_1")
    control.disconnect_venue("ven_1", "Contract ended", in_flight="cancel")
    disconnected = api.call("GET", "/v2/venues/ven_1").json()
    assert disconnected["status"] == "DISCONNECTED"
    assert disconnected["accepting_orders"] is False
    assert api.call("POST", "/v2/venues/ven_1/pause", {"reason": "x", "paused_until": None}).status_code == 409
    control.connect_venue("ven_1", "Burger Barn again")
    assert api.call("GET", "/v2/venues/ven_1").json()["status"] == "ACTIVE"

    control.wait_quiet(5)
    events = receiver.events("store.")
    assert [e["type"] for e in events] == [
        "store.connected",
        "store.paused",
        "store.resumed",
        "store.disconnected",
        "store.connected",
    ]
    assert events[1]["data"] == {"reason": "Out of buns", "paused_until": "2099-01-01T00:00:00Z"}
    assert events[2]["data"] == {}
    assert events[3]["data"] == {"reason": "Contract ended", "in_flight": "cancel"}


def test_disconnect_leaves_in_flight_orders_alone(sandbox, control, api):
    control.set_restaurant(confirm_after=0.2)
    api.submit(order_body("mp_1"))
    control.disconnect_venue("ven_1", in_flight="complete")
    control.wait_quiet(5)
    assert control.order("mp_1")["status"] == "READY"

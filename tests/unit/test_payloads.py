"""Link's inbound bodies: envelope and event data validation (no database)."""

import datetime as dt
from dataclasses import asdict

import pytest

from integration.link import payloads
from integration.link.orders import ORDER_EVENT_STATES, LinkOrderReport
from integration.link.payloads import PayloadError, parse_data, parse_envelope

UTC = dt.UTC
NOON = dt.datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def body(event_type: str, data, **envelope) -> dict:
    return {"id": "evt_1", "type": event_type, "created_at": "2026-11-27T12:00:00Z", "venue_id": "ven_1"} | {
        "data": data,
        **envelope,
    }


def data_error(event_type: str, data) -> dict:
    with pytest.raises(PayloadError) as exc:
        parse_envelope(body(event_type, data))
    assert exc.value.code == "invalid_event_data"
    assert exc.value.message == f"The data of a {event_type} event is malformed."
    return exc.value.details


def envelope_error(value) -> PayloadError:
    with pytest.raises(PayloadError) as exc:
        parse_envelope(value)
    assert exc.value.code == "invalid_envelope" and exc.value.message
    return exc.value


# --- happy paths: every event type, with its defaults ---------------------------------------------------

ORDER = {"order_id": "ord_1", "external_order_id": "ext_1"}

HAPPY = [
    (
        "store.connected",
        {"name": "Main St", "timezone": "America/New_York", "external_store_id": "sf_1", "address": {"city": "NYC"}},
        {
            "name": "Main St",
            "timezone": "America/New_York",
            "external_store_id": "sf_1",
            "address": {"line1": "", "city": "NYC", "region": "", "postal_code": "", "country": ""},
        },
    ),
    (
        "store.connected",
        {"name": "Main St", "timezone": "UTC"},
        {"name": "Main St", "timezone": "UTC", "external_store_id": None, "address": {}},
    ),
    ("store.disconnected", {}, {"reason": "", "in_flight": "complete"}),
    ("store.disconnected", {"reason": "closing", "in_flight": "cancel"}, {"reason": "closing", "in_flight": "cancel"}),
    ("store.paused", {}, {"reason": "", "paused_until": None}),
    (
        "store.paused",
        {"reason": "rush", "paused_until": "2026-11-27T12:00:00Z"},
        {"reason": "rush", "paused_until": NOON},
    ),
    ("store.resumed", {"anything": 1}, {}),
    (
        "menu.published",
        {"menu_id": "m1", "version": 0, "menu_url": "https://link.test/menus/m1"},
        {"menu_id": "m1", "version": 0, "menu_url": "https://link.test/menus/m1"},
    ),
    ("menu.unpublished", {"menu_id": "m1"}, {"menu_id": "m1"}),
    ("menu.availability_changed", {"menu_id": "m1"}, {"menu_id": "m1", "items": [], "modifiers": []}),
    (
        "menu.availability_changed",
        {"menu_id": "m1", "items": [{"id": "i1", "available": False}], "modifiers": [{"id": "o1", "available": "yes"}]},
        {"menu_id": "m1", "items": [{"id": "i1", "available": False}], "modifiers": [{"id": "o1", "available": True}]},
    ),
    ("order.confirmed", ORDER, ORDER | {"prep_time_minutes": None, "estimated_ready_at": None}),
    (
        "order.confirmed",
        ORDER | {"prep_time_minutes": 15, "estimated_ready_at": "2026-11-27T12:00:00Z"},
        ORDER | {"prep_time_minutes": 15, "estimated_ready_at": NOON},
    ),
    ("order.rejected", ORDER, ORDER | {"reason_code": "OTHER", "reason": ""}),
    (
        "order.rejected",
        ORDER | {"reason_code": "ITEM_UNAVAILABLE", "reason": "no fries"},
        ORDER | {"reason_code": "ITEM_UNAVAILABLE", "reason": "no fries"},
    ),
    ("order.preparing", ORDER, ORDER | {"estimated_ready_at": None}),
    ("order.ready", ORDER, ORDER | {"ready_at": None}),
    ("order.ready", ORDER | {"ready_at": "2026-11-27T12:00:00Z"}, ORDER | {"ready_at": NOON}),
    ("order.cancelled", ORDER, ORDER | {"reason_code": "", "reason": "", "cancelled_by": "link"}),
    (
        "order.cancelled",
        {"external_order_id": "ext_1", "reason_code": "CUSTOMER", "cancelled_by": "customer"},
        {
            "order_id": "",
            "external_order_id": "ext_1",
            "reason_code": "CUSTOMER",
            "reason": "",
            "cancelled_by": "customer",
        },
    ),
]


@pytest.mark.parametrize(("event_type", "data", "expected"), HAPPY, ids=[case[0] for case in HAPPY])
def test_every_event_type_validates_to_its_model_with_defaults(event_type, data, expected):
    parsed = parse_envelope(body(event_type, data))
    assert {**asdict(parsed), "data": parsed.data.model_dump()} == {
        "id": "evt_1",
        "type": event_type,
        "created_at": NOON,
        "venue_id": "ven_1",
        "data": expected,
    }
    assert type(parsed.data) is payloads.EVENT_DATA_MODELS[event_type]
    assert parse_data(event_type, data).model_dump() == expected


def test_every_handled_event_type_has_a_model():
    from integration.services.link_events import HANDLERS

    assert set(payloads.EVENT_DATA_MODELS) == set(HANDLERS)


def test_envelope_defaults_trims_and_ignores_unknown_keys():
    parsed = parse_envelope(
        {"id": " evt_2 ", "type": "link.ping", "created_at": "2026-11-27T12:00:00Z", "data": {}, "extra": [1]}
    )
    assert asdict(parsed) == {"id": "evt_2", "type": "link.ping", "created_at": NOON, "venue_id": "", "data": {}}


def test_event_data_is_trimmed_and_unknown_keys_dropped():
    parsed = parse_data("store.connected", {"name": "  Main St ", "timezone": " UTC ", "color": "red"}).model_dump()
    assert parsed == {"name": "Main St", "timezone": "UTC", "external_store_id": None, "address": {}}


def test_numbers_are_taken_as_strings_like_drf():
    assert parse_data("menu.unpublished", {"menu_id": 12}).model_dump() == {"menu_id": "12"}
    assert data_error("menu.unpublished", {"menu_id": True}) == {"menu_id": ["Not a valid string."]}


# --- datetimes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-27T12:00:00", NOON),
        ("2026-11-27 12:00", NOON),
        ("2026-11-27T12:00:00Z", NOON),
        ("2026-11-27T14:00:00+02:00", NOON),
        ("2026-11-27T07:00:00-05:00", NOON),
    ],
)
def test_datetimes_come_out_aware_in_utc(raw, expected):
    parsed = parse_envelope(body("order.ready", ORDER | {"ready_at": raw}, created_at=raw))
    for value in (parsed.created_at, parsed.data.ready_at):
        assert value == expected
        assert value.utcoffset() == dt.timedelta(0) and value.tzinfo is not None


@pytest.mark.parametrize("raw", ["yesterday", "1700000000", 1700000000, "2026-11-27T25:00:00", True, []])
def test_bad_datetimes_are_refused(raw):
    wrong = (
        "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
    )
    assert data_error("order.ready", ORDER | {"ready_at": raw}) == {"ready_at": [wrong]}
    assert envelope_error(body("store.resumed", {}, created_at=raw)).details == {"created_at": [wrong]}


# --- errors: codes and details ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, [], "x", 3, [{"id": "evt_1"}]])
def test_a_body_that_is_not_an_object_is_an_invalid_envelope(value):
    err = envelope_error(value)
    assert err.message == "The body must be a JSON object." and err.details == {}


def test_a_malformed_envelope_names_each_field():
    err = envelope_error({"type": "", "created_at": None, "venue_id": "v" * 65, "data": []})
    assert err.details == {
        "id": ["This field is required."],
        "type": ["This field may not be blank."],
        "created_at": ["This field may not be null."],
        "venue_id": ["Ensure this field has no more than 64 characters."],
        "data": ['Expected a dictionary of items but got type "list".'],
    }


def test_known_type_with_bad_data_is_invalid_event_data_with_field_lists():
    details = data_error("store.connected", {"timezone": "Mars/Olympus", "external_store_id": ""})
    assert details == {
        "name": ["This field is required."],
        "timezone": ["'Mars/Olympus' is not an IANA time zone."],
        "external_store_id": ["This field may not be blank."],
    }
    assert all(isinstance(messages, list) and messages for messages in details.values())


def test_nested_fields_are_dotted():
    assert data_error("store.connected", {"name": "S", "timezone": "UTC", "address": {"city": ["NYC"]}}) == {
        "address.city": ["Not a valid string."]
    }
    assert data_error("store.connected", {"name": "S", "timezone": "UTC", "address": "1 Main"}) == {
        "address": ["Invalid data. Expected a dictionary, but got str."]
    }
    assert data_error("store.connected", {"name": "S", "timezone": "UTC", "address": None}) == {
        "address": ["This field may not be null."]
    }
    items = [{"id": "i1", "available": True}, {"available": "maybe"}, "i3"]
    assert data_error("menu.availability_changed", {"menu_id": "m1", "items": items}) == {
        "items.1.id": ["This field is required."],
        "items.1.available": ["Must be a valid boolean."],
        "items.2": ["Invalid data. Expected a dictionary, but got str."],
    }
    assert data_error("menu.availability_changed", {"menu_id": "m1", "modifiers": {"id": "o1"}}) == {
        "modifiers": ['Expected a list of items but got type "dict".']
    }


@pytest.mark.parametrize("blank", ["", "   ", "\t\n", "\x1c"])
def test_blank_and_whitespace_only_are_refused_where_drf_refused_them(blank):
    assert data_error("store.connected", {"name": blank, "timezone": "UTC"}) == {
        "name": ["This field may not be blank."]
    }
    assert data_error("order.ready", {"external_order_id": blank}) == {
        "external_order_id": ["This field may not be blank."]
    }
    assert envelope_error(body("store.resumed", {}, id=blank)).details == {"id": ["This field may not be blank."]}


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_is_allowed_where_drf_allowed_it_and_comes_out_empty(blank):
    assert parse_data("store.disconnected", {"reason": blank}).model_dump() == {"reason": "", "in_flight": "complete"}
    assert parse_data(
        "order.cancelled", {"external_order_id": "e", "order_id": blank, "cancelled_by": blank}
    ).model_dump() == {
        "order_id": "",
        "external_order_id": "e",
        "reason_code": "",
        "reason": "",
        "cancelled_by": "",
    }
    assert parse_envelope(body("link.ping", {}, venue_id=blank)).venue_id == ""  # store and menu events need one


def test_null_is_refused_unless_the_field_allows_it():
    assert data_error("store.connected", {"name": None, "timezone": "UTC"}) == {"name": ["This field may not be null."]}
    assert data_error("store.disconnected", {"reason": None}) == {"reason": ["This field may not be null."]}
    assert (
        parse_data("store.connected", {"name": "S", "timezone": "UTC", "external_store_id": None}).external_store_id
        is None
    )


def test_max_lengths_count_the_trimmed_value():
    assert parse_data("store.connected", {"name": "n" * 200 + "  ", "timezone": "UTC"}).name == "n" * 200
    assert data_error("store.connected", {"name": "n" * 201, "timezone": "UTC"}) == {
        "name": ["Ensure this field has no more than 200 characters."]
    }
    assert data_error("order.cancelled", {"external_order_id": "e", "cancelled_by": "c" * 17}) == {
        "cancelled_by": ["Ensure this field has no more than 16 characters."]
    }


def test_nul_characters_are_refused():
    assert data_error("store.connected", {"name": "a\x00b", "timezone": "UTC"}) == {
        "name": ["Null characters are not allowed."]
    }


@pytest.mark.parametrize("zone", ["Mars/Olympus", "utc", "America", "../etc/passwd", "/etc/localtime"])
def test_timezone_must_be_an_iana_zone(zone):
    assert data_error("store.connected", {"name": "S", "timezone": zone}) == {
        "timezone": [f"{zone!r} is not an IANA time zone."]
    }


def test_in_flight_is_complete_or_cancel():
    assert parse_data("store.disconnected", {"in_flight": "cancel"}).in_flight == "cancel"
    for bad in ("later", " cancel", ""):
        assert data_error("store.disconnected", {"in_flight": bad}) == {
            "in_flight": [f'"{bad}" is not a valid choice.']
        }


@pytest.mark.parametrize(
    ("event_type", "field", "base"),
    [
        ("menu.published", "version", {"menu_id": "m1", "menu_url": "u"}),
        ("order.confirmed", "prep_time_minutes", ORDER),
    ],
)
def test_integers_are_at_least_zero_and_converted_like_drf(event_type, field, base):
    assert getattr(parse_data(event_type, base | {field: 0}), field) == 0
    for raw, value in (("7", 7), (" 7 ", 7), ("7.0", 7), (7.0, 7)):
        assert getattr(parse_data(event_type, base | {field: raw}), field) == value
    for bad in (-1, "-3"):
        assert data_error(event_type, base | {field: bad}) == {
            field: ["Ensure this value is greater than or equal to 0."]
        }
    for bad in (True, 7.5, "seven", [7]):
        assert data_error(event_type, base | {field: bad}) == {field: ["A valid integer is required."]}


# --- unknown types, replay --------------------------------------------------------------------------------


def test_unknown_event_types_pass_with_their_data_untouched():
    data = {"points": 3, "nested": {"x": [1, " y "]}, "blank": ""}
    assert parse_envelope(body("loyalty.points_changed", data)).data == data
    assert parse_data("loyalty.points_changed", data) is data


def test_parse_data_raises_payload_error_for_bad_stored_data():
    with pytest.raises(PayloadError) as exc:
        parse_data("menu.published", {"menu_id": "m1", "version": -1})
    assert exc.value.code == "invalid_event_data"
    assert exc.value.details == {
        "version": ["Ensure this value is greater than or equal to 0."],
        "menu_url": ["This field is required."],
    }
    assert "version" in str(exc.value)  # the replay records str(exc): it names the fields
    with pytest.raises(PayloadError) as exc:
        parse_data("store.resumed", ["not", "an", "object"])
    assert exc.value.details == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}


def test_order_helpers_read_the_validated_data():
    data = parse_data("order.rejected", ORDER | {"reason_code": "CLOSED"})
    assert payloads.external_order_id_of("order.rejected", data) == "ext_1"
    assert payloads.external_order_id_of("store.paused", {"external_order_id": "x"}) == ""
    assert LinkOrderReport.from_event("order.rejected", data) == LinkOrderReport(
        state=ORDER_EVENT_STATES["order.rejected"],
        link_status="",
        link_order_id="ord_1",
        external_order_id="ext_1",
        prep_time_minutes=None,
        estimated_ready_at=None,
        ready_at=None,
        reason_code="CLOSED",
        reason="",
        cancelled_by="",
    )

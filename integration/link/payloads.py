"""Link's inbound bodies (contract sections 2 and 4): envelope and event data, validated.

Handlers receive the validated ``data`` models, so Link's field names stop here.

The models are pydantic (built once, at import); the field types below keep the rules the DRF
serializers had: strings are trimmed, may not be blank unless said so, numbers are taken as strings,
integers accept DRF's inputs ("5", "5.0", not booleans), datetimes are ISO 8601 as Django parses them
and come out aware in UTC, and unknown keys are ignored.
"""

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from django.utils.dateparse import parse_datetime
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
    model_serializer,
)
from pydantic_core import PydanticCustomError

from integration import json_bodies
from integration.timezones import is_time_zone

# --- field types (DRF's field semantics) -----------------------------------------------------------

_NO_NUL = r"^[^\x00]*$"  # DRF's ProhibitNullCharactersValidator (PostgreSQL can't store NUL either)
_DECIMAL_TAIL = re.compile(r"\.0*\s*$")  # DRF IntegerField: "1.0" is an integer, "1.2" is not
_ISO_8601 = {"formats": "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]"}


def _strip(value):
    """str.strip(), as DRF trimmed (pydantic's strip_whitespace keeps "\x1c".."\x1f", which Python strips)."""
    return value.strip() if type(value) is str else value


def _drf_int(value: Any) -> int | None:
    """DRF IntegerField's conversion: int(str(value)) after dropping a zero fraction; booleans are refused."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value  # (None is reported as "may not be null", see _message)
    if isinstance(value, str) and len(value) > 1000:
        raise PydanticCustomError("int_too_long", "String value too large.")
    try:
        return int(_DECIMAL_TAIL.sub("", str(value)))
    except (ValueError, TypeError):
        raise PydanticCustomError("int_invalid", "A valid integer is required.") from None


def _drf_datetime(value: Any) -> dt.datetime:
    """DRF DateTimeField: ISO 8601 as Django's parse_datetime reads it, made aware in UTC as USE_TZ did."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        raise PydanticCustomError("datetime_date", "Expected a datetime but got a date.")
    parsed = value if isinstance(value, dt.datetime) else None
    if parsed is None and value is not None:
        try:
            parsed = parse_datetime(value)
        except (ValueError, TypeError):
            parsed = None
    if parsed is None:  # (None is reported as "may not be null", see _message)
        raise PydanticCustomError(
            "datetime_invalid", "Datetime has wrong format. Use one of these formats instead: {formats}.", _ISO_8601
        )
    if parsed.utcoffset() is None:
        return parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_overflow", "Datetime value out of range.") from None


def _iana_zone(value: str) -> str:
    if not is_time_zone(value):
        raise PydanticCustomError("timezone", "{zone} is not an IANA time zone.", {"zone": repr(value)})
    return value


def _text(max_length: int | None = None, *, blank: bool = False) -> StringConstraints:
    """DRF CharField, with ``_STRIP``: trimmed; "" and whitespace-only refused unless ``blank``; no NUL characters.

    A field reads ``Annotated[str, _text(64), _STRIP]``: a call is not a type, so the type checker could not
    read a ``Text(64)`` that built the whole ``Annotated``; pydantic gets the same metadata either way."""
    return StringConstraints(min_length=None if blank else 1, max_length=max_length, pattern=_NO_NUL)


_STRIP = BeforeValidator(_strip)


INT_MAX = 2**31 - 1  # what an integer column holds (PostgreSQL integer)
REASON_MAX = 500  # the longest reason a column keeps (a store's pause and disconnect reasons)
NonNegativeInt = Annotated[int, Field(ge=0, le=INT_MAX), BeforeValidator(_drf_int)]
DateTime = Annotated[dt.datetime, PlainValidator(_drf_datetime)]
Zone = Annotated[str, _text(64), _STRIP, AfterValidator(_iana_zone)]


class _Payload(BaseModel):
    # Numbers are taken as strings (DRF CharField did: 123 -> "123"; booleans are still refused).
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


# --- envelope (section 2) -----------------------------------------------------------------------------


class Envelope(_Payload):
    id: Annotated[str, _text(100), _STRIP]
    type: Annotated[str, _text(64), _STRIP]
    created_at: DateTime
    venue_id: Annotated[str, _text(64, blank=True), _STRIP] = ""
    data: dict


# --- event data (section 4) ---------------------------------------------------------------------------


class Address(_Payload):
    line1: Annotated[str, _text(blank=True), _STRIP] = ""
    city: Annotated[str, _text(blank=True), _STRIP] = ""
    region: Annotated[str, _text(blank=True), _STRIP] = ""
    postal_code: Annotated[str, _text(blank=True), _STRIP] = ""
    country: Annotated[str, _text(blank=True), _STRIP] = ""


class StoreConnected(_Payload):
    name: Annotated[str, _text(200), _STRIP]
    timezone: Zone
    address: Address = Field(default_factory=Address)
    external_store_id: Annotated[str, _text(64), _STRIP] | None = None

    def address_fields(self) -> dict:
        """Absent -> {} (DRF's default=dict); present -> every line, "" if absent."""
        return self.address.model_dump() if "address" in self.model_fields_set else {}

    @model_serializer(mode="wrap")
    def _dump(self, handler):
        return {**handler(self), "address": self.address_fields()}


class StoreDisconnected(_Payload):
    reason: Annotated[str, _text(REASON_MAX, blank=True), _STRIP] = ""
    in_flight: Literal["complete", "cancel"] = "complete"


class StorePaused(_Payload):
    reason: Annotated[str, _text(REASON_MAX, blank=True), _STRIP] = ""
    paused_until: DateTime | None = None


class Empty(_Payload):
    pass


class MenuPublished(_Payload):
    menu_id: Annotated[str, _text(64), _STRIP]
    version: NonNegativeInt
    menu_url: Annotated[str, _text(2000), _STRIP]


class MenuUnpublished(_Payload):
    menu_id: Annotated[str, _text(64), _STRIP]


class AvailabilityEntry(_Payload):
    id: Annotated[str, _text(64), _STRIP]
    available: bool


class MenuAvailability(_Payload):
    menu_id: Annotated[str, _text(64), _STRIP]
    items: list[AvailabilityEntry] = Field(default_factory=list)
    modifiers: list[AvailabilityEntry] = Field(default_factory=list)


class OrderEvent(_Payload):
    order_id: Annotated[str, _text(64, blank=True), _STRIP] = ""
    external_order_id: Annotated[str, _text(64), _STRIP]


class OrderConfirmed(OrderEvent):
    prep_time_minutes: NonNegativeInt | None = None
    estimated_ready_at: DateTime | None = None


class OrderRejected(OrderEvent):
    reason_code: Annotated[str, _text(32, blank=True), _STRIP] = "OTHER"
    reason: Annotated[str, _text(REASON_MAX, blank=True), _STRIP] = ""


class OrderPreparing(OrderEvent):
    estimated_ready_at: DateTime | None = None


class OrderReady(OrderEvent):
    ready_at: DateTime | None = None


class OrderCancelled(OrderEvent):
    reason_code: Annotated[str, _text(32, blank=True), _STRIP] = ""
    reason: Annotated[str, _text(REASON_MAX, blank=True), _STRIP] = ""
    cancelled_by: Annotated[str, _text(16, blank=True), _STRIP] = "link"


EVENT_DATA_MODELS: dict[str, type[_Payload]] = {
    "store.connected": StoreConnected,
    "store.disconnected": StoreDisconnected,
    "store.paused": StorePaused,
    "store.resumed": Empty,
    "menu.published": MenuPublished,
    "menu.unpublished": MenuUnpublished,
    "menu.availability_changed": MenuAvailability,
    "order.confirmed": OrderConfirmed,
    "order.rejected": OrderRejected,
    "order.preparing": OrderPreparing,
    "order.ready": OrderReady,
    "order.cancelled": OrderCancelled,
}

ORDER_EVENT_PREFIX = "order."
VENUE_EVENTS = frozenset(t for t in EVENT_DATA_MODELS if t.startswith(("store.", "menu.")))


# --- parsing ----------------------------------------------------------------------------------------------


class PayloadError(Exception):
    def __init__(self, code: str, message: str, details=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    def __str__(self):
        return f"{self.message} {self.details}" if self.details else self.message


# pydantic error type -> DRF's message (templates take the error's ctx, plus input_type).
_MESSAGES = {
    "missing": "This field is required.",
    "string_type": "Not a valid string.",
    "string_unicode": "Surrogate characters are not allowed: U+{surrogate:X}.",
    "string_too_short": "This field may not be blank.",
    "string_too_long": "Ensure this field has no more than {max_length} characters.",
    "string_pattern_mismatch": "Null characters are not allowed.",
    "greater_than_equal": "Ensure this value is greater than or equal to {ge}.",
    "less_than_equal": "Ensure this value is less than or equal to {le}.",
    "bool_type": "Must be a valid boolean.",
    "bool_parsing": "Must be a valid boolean.",
    "literal_error": '"{input}" is not a valid choice.',
    "list_type": 'Expected a list of items but got type "{input_type}".',
    "dict_type": 'Expected a dictionary of items but got type "{input_type}".',
    "model_type": "Invalid data. Expected a dictionary, but got {input_type}.",
    "model_attributes_type": "Invalid data. Expected a dictionary, but got {input_type}.",
}


def _message(error) -> str:
    kind, value = error["type"], error.get("input")
    if value is None and not error["loc"]:
        return "No data provided"
    if value is None and kind != "missing":
        return "This field may not be null."
    template = _MESSAGES.get(kind)
    if template is None:
        return error["msg"]
    context = error.get("ctx") or {}
    if kind == "string_unicode":
        context = {"surrogate": next((ord(c) for c in value if 0xD800 <= ord(c) <= 0xDFFF), 0xFFFD)}
    return template.format(**context, input=value, input_type=type(value).__name__)


def _details(exc: ValidationError) -> dict[str, list[str]]:
    """``{"field": ["message", ...]}`` like DRF's errors, nested fields dotted ("address.city", "items.0.id")."""
    details: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "non_field_errors"
        details.setdefault(field, []).append(_message(error))
    return details


MAX_JSON_DEPTH = json_bodies.MAX_JSON_DEPTH  # Link's events nest 4 deep


def parse_json(raw: bytes):
    """A body as JSON (``json_bodies.json_loads``: UTF-8 only, since bytes would let json guess UTF-16 or
    UTF-32; nested at most MAX_JSON_DEPTH)."""
    try:
        return json_bodies.json_loads(raw)
    except json_bodies.JsonBodyError as exc:
        raise PayloadError("malformed_json", exc.message) from None


def parse_data(event_type: str, data):
    """A known event type's data as its validated model (on receipt and again on replay), an unknown
    type's as it came; raises PayloadError."""
    model = EVENT_DATA_MODELS.get(event_type)
    if model is None:
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(
            "invalid_event_data", f"The data of a {event_type} event is malformed.", _details(exc)
        ) from None


@dataclass(frozen=True)
class LinkEvent:
    """A webhook as validated: the envelope's fields, and ``data`` as its type's model (an unknown
    type's data as it came)."""

    id: str
    type: str
    created_at: dt.datetime
    venue_id: str
    data: BaseModel | dict


def parse_envelope(body: dict) -> LinkEvent:
    """Validated envelope; raises PayloadError for a malformed envelope or known event's data."""
    if not isinstance(body, dict):
        raise PayloadError("invalid_envelope", "The body must be a JSON object.")
    try:
        envelope = Envelope.model_validate(body)
    except ValidationError as exc:
        raise PayloadError("invalid_envelope", "The event envelope is malformed.", _details(exc)) from None
    if envelope.type in VENUE_EVENTS and not envelope.venue_id:
        raise PayloadError(
            "invalid_envelope",
            f"A {envelope.type} event names its venue.",
            {"venue_id": ["This field may not be blank."]},
        )
    return LinkEvent(
        id=envelope.id,
        type=envelope.type,
        created_at=envelope.created_at,
        venue_id=envelope.venue_id,
        data=parse_data(envelope.type, envelope.data),
    )


def external_order_id_of(event_type: str, data) -> str:
    """A known order event's from its model; an unknown ``order.*`` type's from its data as it came."""
    if isinstance(data, OrderEvent):
        return data.external_order_id
    return str(data.get("external_order_id") or "") if event_type.startswith(ORDER_EVENT_PREFIX) else ""

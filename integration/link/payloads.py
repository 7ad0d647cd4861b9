"""Link's inbound bodies (contract sections 2 and 4): envelope and event data, validated.

Handlers receive the validated ``data`` dict these serializers produce, so Link's field names
stop here.
"""

from rest_framework import serializers


class EnvelopeSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=100)
    type = serializers.CharField(max_length=64)
    created_at = serializers.DateTimeField()
    venue_id = serializers.CharField(max_length=64, allow_blank=True, required=False, default="")
    data = serializers.DictField()


class AddressSerializer(serializers.Serializer):
    line1 = serializers.CharField(allow_blank=True, required=False, default="")
    city = serializers.CharField(allow_blank=True, required=False, default="")
    region = serializers.CharField(allow_blank=True, required=False, default="")
    postal_code = serializers.CharField(allow_blank=True, required=False, default="")
    country = serializers.CharField(allow_blank=True, required=False, default="")


class StoreConnectedSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    timezone = serializers.CharField(max_length=64)
    address = AddressSerializer(required=False, default=dict)
    external_store_id = serializers.CharField(max_length=64, allow_null=True, required=False, default=None)

    def validate_timezone(self, value):
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise serializers.ValidationError(f"{value!r} is not an IANA time zone.") from exc
        return value


class StoreDisconnectedSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="")
    in_flight = serializers.ChoiceField(choices=["complete", "cancel"], required=False, default="complete")


class StorePausedSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="")
    paused_until = serializers.DateTimeField(allow_null=True, required=False, default=None)


class EmptySerializer(serializers.Serializer):
    pass


class MenuPublishedSerializer(serializers.Serializer):
    menu_id = serializers.CharField(max_length=64)
    version = serializers.IntegerField(min_value=0)
    menu_url = serializers.CharField(max_length=2000)


class MenuUnpublishedSerializer(serializers.Serializer):
    menu_id = serializers.CharField(max_length=64)


class AvailabilityEntrySerializer(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    available = serializers.BooleanField()


class MenuAvailabilitySerializer(serializers.Serializer):
    menu_id = serializers.CharField(max_length=64)
    items = AvailabilityEntrySerializer(many=True, required=False, default=list)
    modifiers = AvailabilityEntrySerializer(many=True, required=False, default=list)


class OrderEventSerializer(serializers.Serializer):
    order_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    external_order_id = serializers.CharField(max_length=64)


class OrderConfirmedSerializer(OrderEventSerializer):
    prep_time_minutes = serializers.IntegerField(min_value=0, allow_null=True, required=False, default=None)
    estimated_ready_at = serializers.DateTimeField(allow_null=True, required=False, default=None)


class OrderRejectedSerializer(OrderEventSerializer):
    reason_code = serializers.CharField(max_length=32, allow_blank=True, required=False, default="OTHER")
    reason = serializers.CharField(allow_blank=True, required=False, default="")


class OrderPreparingSerializer(OrderEventSerializer):
    estimated_ready_at = serializers.DateTimeField(allow_null=True, required=False, default=None)


class OrderReadySerializer(OrderEventSerializer):
    ready_at = serializers.DateTimeField(allow_null=True, required=False, default=None)


class OrderCancelledSerializer(OrderEventSerializer):
    reason_code = serializers.CharField(max_length=32, allow_blank=True, required=False, default="")
    reason = serializers.CharField(allow_blank=True, required=False, default="")
    cancelled_by = serializers.CharField(max_length=16, allow_blank=True, required=False, default="link")


EVENT_DATA_SERIALIZERS = {
    "store.connected": StoreConnectedSerializer,
    "store.disconnected": StoreDisconnectedSerializer,
    "store.paused": StorePausedSerializer,
    "store.resumed": EmptySerializer,
    "menu.published": MenuPublishedSerializer,
    "menu.unpublished": MenuUnpublishedSerializer,
    "menu.availability_changed": MenuAvailabilitySerializer,
    "order.confirmed": OrderConfirmedSerializer,
    "order.rejected": OrderRejectedSerializer,
    "order.preparing": OrderPreparingSerializer,
    "order.ready": OrderReadySerializer,
    "order.cancelled": OrderCancelledSerializer,
}

ORDER_EVENT_PREFIX = "order."


class PayloadError(Exception):
    def __init__(self, code: str, message: str, details=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


def parse_envelope(body: dict) -> dict:
    """Validated envelope; raises PayloadError for a malformed envelope or known event's data."""
    if not isinstance(body, dict):
        raise PayloadError("invalid_envelope", "The body must be a JSON object.")
    envelope = EnvelopeSerializer(data=body)
    if not envelope.is_valid():
        raise PayloadError("invalid_envelope", "The event envelope is malformed.", envelope.errors)
    parsed = dict(envelope.validated_data)
    serializer_class = EVENT_DATA_SERIALIZERS.get(parsed["type"])
    if serializer_class is not None:
        data = serializer_class(data=parsed["data"])
        if not data.is_valid():
            raise PayloadError("invalid_event_data", f"The data of a {parsed['type']} event is malformed.", data.errors)
        parsed["data"] = dict(data.validated_data)
    return parsed


def parse_data(event_type: str, data: dict) -> dict:
    """Re-validate stored data (for a replay) the same way as on receipt."""
    serializer_class = EVENT_DATA_SERIALIZERS.get(event_type)
    if serializer_class is None:
        return data
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def external_order_id_of(event_type: str, data: dict) -> str:
    return str(data.get("external_order_id") or "") if event_type.startswith(ORDER_EVENT_PREFIX) else ""


# Order event type -> the order state it reports.
ORDER_EVENT_STATES = {
    "order.confirmed": "CONFIRMED",
    "order.preparing": "IN_PREP",
    "order.ready": "READY",
    "order.rejected": "REJECTED",
    "order.cancelled": "CANCELLED",
}


def order_event(event_type: str, data: dict) -> dict:
    """A validated order event's data in the shape the order services use (also routes.parse_order's)."""
    state = ORDER_EVENT_STATES[event_type]
    return {
        "state": state,
        "link_status": "",
        "link_order_id": data.get("order_id") or "",
        "external_order_id": data["external_order_id"],
        "prep_time_minutes": data.get("prep_time_minutes"),
        "estimated_ready_at": data.get("estimated_ready_at"),
        "ready_at": data.get("ready_at"),
        "reason_code": data.get("reason_code") or "",
        "reason": data.get("reason") or "",
        "cancelled_by": data.get("cancelled_by") or "",
    }

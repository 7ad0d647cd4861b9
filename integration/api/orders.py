"""Internal orders API: place, read, cancel. Views are thin: shape checks here, rules in services."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from pydantic import TypeAdapter
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.link.routes import CANCEL_REASON_CODES
from integration.models import Order
from integration.selectors.orders import order_timeline
from integration.services.orders.cancellation import order_cancel
from integration.services.orders.errors import OrderActionRefused, OrderError, StoreNotAccepting
from integration.services.orders.placement import order_place
from integration.services.orders.request import OrderRequest

from .errors import ApiError, ErrorSerializer
from .permissions import CANCEL_ORDER, PLACE_ORDER, VIEW_ORDER, owned_by_caller

MAX_NESTING = 4
IDEMPOTENCY_KEY_MAX = 200


# --- request shapes -------------------------------------------------------------------------------


class ModifierSelectionSerializer(serializers.Serializer):
    modifier_id = serializers.CharField(max_length=64)
    group_id = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(default=1, help_text="Per unit of what it modifies; 1..99.")

    def __init__(self, *args, nesting: int = 1, **kwargs):
        self.nesting = nesting
        super().__init__(*args, **kwargs)

    def get_fields(self):
        fields = super().get_fields()
        if self.nesting < MAX_NESTING:
            fields["modifiers"] = ModifierSelectionSerializer(
                many=True, required=False, default=list, nesting=self.nesting + 1
            )
        else:
            fields["modifiers"] = serializers.ListField(
                required=False,
                default=list,
                max_length=0,
                error_messages={"max_length": f"Modifiers nest at most {MAX_NESTING} levels deep."},
            )
        return fields


class OrderItemRequestSerializer(serializers.Serializer):
    item_id = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(help_text="1..99.")
    special_instructions = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    modifiers = ModifierSelectionSerializer(many=True, required=False, default=list)


class CustomerSerializer(serializers.Serializer):
    """Link needs both to hand the order over (link-contract.md section 5): an order without them was sent
    with an empty name and phone (issue 23 H16)."""

    name = serializers.CharField(min_length=1, max_length=200, help_text="Who collects or receives the order.")
    phone = serializers.CharField(min_length=1, max_length=32, help_text="E.164 preferred, e.g. +15555550100.")


class FulfillmentSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["pickup", "delivery"], default="pickup")
    scheduled_for = serializers.DateTimeField(required=False, allow_null=True, default=None)


class OrderRequestSerializer(serializers.Serializer):
    store = serializers.CharField(max_length=64, help_text="The store's external_store_id (or Link venue_id).")
    items = OrderItemRequestSerializer(many=True, min_length=1, max_length=100)
    customer = CustomerSerializer()
    fulfillment = FulfillmentSerializer(required=False, default=dict)
    tip = serializers.IntegerField(required=False, default=0, help_text="Minor units.")
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CancelRequestSerializer(serializers.Serializer):
    reason_code = serializers.ChoiceField(choices=CANCEL_REASON_CODES)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


# --- answer shapes --------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "array",
        "items": {"$ref": "#/components/schemas/PricedModifier"},
        "description": "The modifiers this one opened, same shape (nested like the request).",
    }
)
class NestedPricedModifiersField(serializers.JSONField):
    """A priced modifier's own modifiers: the schema refers back to ``PricedModifier`` (any depth)."""


class PricedModifierSerializer(serializers.Serializer):
    """One chosen modifier as priced at placement (``lines[].modifiers[]``)."""

    modifier_id = serializers.CharField(help_text="Link's modifier id, from the menu.")
    group_id = serializers.CharField(help_text="The modifier group it was chosen in.")
    name = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Per unit of what it modifies.")
    unit_price = serializers.IntegerField(help_text="Price of one, in minor units (cents), without nested modifiers.")
    modifiers = NestedPricedModifiersField(default=list)


class OrderLineSerializer(serializers.Serializer):
    item_id = serializers.CharField(source="item_link_id")
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    item_price = serializers.IntegerField()
    unit_price = serializers.IntegerField(help_text="Item price plus its modifiers, per unit: what the customer pays.")
    link_unit_price = serializers.SerializerMethodField(
        help_text="The same at Link's prices (what the restaurant charges us), as at placement."
    )
    line_total = serializers.IntegerField()
    tax = serializers.IntegerField()
    special_instructions = serializers.CharField()
    modifiers = PricedModifierSerializer(many=True, help_text="As priced at placement, nested like the request.")

    def get_link_unit_price(self, line) -> int:
        return int(line.unit_price if line.link_unit_price is None else line.link_unit_price)


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=["transition", "event", "call"])
    title = serializers.CharField()
    detail = serializers.CharField()
    status = serializers.CharField()
    by = serializers.CharField()


class OrderStoreSerializer(serializers.Serializer):
    external_store_id = serializers.CharField(source="store.external_store_id", allow_null=True)
    venue_id = serializers.CharField(source="store.venue_id")


class TotalsSerializer(serializers.Serializer):
    subtotal = serializers.IntegerField()
    tax = serializers.IntegerField(help_text="Per line, half-up on the line total incl. modifiers, at the item's rate.")
    tip = serializers.IntegerField()
    delivery_fee = serializers.IntegerField()
    discount = serializers.IntegerField()
    total = serializers.IntegerField()
    markup = serializers.IntegerField(
        help_text="What our price rules added: subtotal minus the subtotal at Link's prices (0 without a rule)."
    )


class CustomerOutSerializer(serializers.Serializer):
    name = serializers.CharField(source="customer_name")
    phone = serializers.CharField(source="customer_phone")


class FulfillmentOutSerializer(serializers.Serializer):
    type = serializers.CharField(source="fulfillment_type")
    scheduled_for = serializers.DateTimeField(allow_null=True)


class TimesSerializer(serializers.Serializer):
    placed_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True, help_text="When Link answered 201.")
    confirmed_at = serializers.DateTimeField(allow_null=True)
    estimated_ready_at = serializers.DateTimeField(allow_null=True)
    ready_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)


class CancelStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        source="cancel_status",
        choices=Order.CancelStatus.values,
        help_text="requested: waiting for Link; refused: Link said no (see cancel_refusal); "
        "moot: the order ended otherwise before the cancel took effect.",
    )
    requested_at = serializers.DateTimeField(source="cancel_requested_at", allow_null=True)
    reason_code = serializers.CharField(source="cancel_reason_code")
    reason = serializers.CharField(source="cancel_reason")
    cancel_refused_at = serializers.DateTimeField(allow_null=True)
    cancel_refusal = serializers.CharField()


class OrderSerializer(serializers.Serializer):
    external_order_id = serializers.CharField()
    link_order_id = serializers.CharField(allow_null=True)
    display_code = serializers.CharField()
    store = OrderStoreSerializer(source="*")
    state = serializers.ChoiceField(choices=Order.State.choices)
    currency = serializers.CharField()
    totals = TotalsSerializer(source="*")
    customer = CustomerOutSerializer(source="*")
    fulfillment = FulfillmentOutSerializer(source="*")
    notes = serializers.CharField()
    times = TimesSerializer(source="*")
    prep_time_minutes = serializers.IntegerField(allow_null=True)
    reason_code = serializers.CharField(help_text="Link's reason for a rejection or cancellation.")
    reason = serializers.CharField()
    cancelled_by = serializers.CharField(help_text="restaurant, link or marketplace.")
    failure_reason = serializers.CharField(help_text="Why Link never took the order (state FAILED).")
    cancel = CancelStatusSerializer(source="*")
    lines = OrderLineSerializer(many=True, source="lines.all")


class OrderDetailSerializer(OrderSerializer):
    timeline = serializers.SerializerMethodField()

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, order) -> list:
        return TimelineEntrySerializer(order_timeline(order), many=True).data


ORDER_REQUEST = TypeAdapter(OrderRequest)


def to_order_request(data: dict) -> OrderRequest:
    """``OrderRequestSerializer``'s validated data as the service's frozen value (nested dicts to values)."""
    return ORDER_REQUEST.validate_python(data)


def flatten_errors(errors, path: str = "") -> list[dict]:
    """DRF's nested errors as ``[{"field": "items[0].modifiers[1].quantity", "code", "message"}]``."""
    if isinstance(errors, dict):
        found = []
        for key, value in errors.items():
            if key == "non_field_errors":
                here = path or "body"
            elif isinstance(key, int):  # a list's errors by index
                here = f"{path}[{key}]"
            else:
                here = f"{path}.{key}" if path else str(key)
            found += flatten_errors(value, here)
        return found
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            return [{"field": path or "body", "code": getattr(e, "code", "invalid"), "message": str(e)} for e in errors]
        found = []
        for n, value in enumerate(errors):
            if value:
                found += flatten_errors(value, f"{path}[{n}]")
        return found
    return [{"field": path or "body", "code": getattr(errors, "code", "invalid"), "message": str(errors)}]


def _order_queryset():
    return Order.objects.select_related("store").prefetch_related("lines")


def _order_or_404(request, external_order_id: str, orders=None) -> Order:
    """The caller's order (another client's is a 404, as if it did not exist; see permissions.py)."""
    orders = owned_by_caller(request, _order_queryset() if orders is None else orders)
    order = orders.filter(external_order_id=external_order_id).first()
    if order is None:
        raise ApiError(404, "not_found", f"No order with external_order_id {external_order_id!r}.")
    return order


ERRORS_422 = OpenApiResponse(
    ErrorSerializer,
    description="Field by field: unknown or unavailable item or modifier, "
    "group min/max, nesting, quantity 1..99; or idempotency_key_reused.",
)


class OrderListView(APIView):
    client_permissions = {"POST": (PLACE_ORDER,)}
    staff_permissions = {"POST": (PLACE_ORDER,)}  # no admin role grants it

    @extend_schema(
        operation_id="orders_place",
        summary="Place an order",
        description=(
            "Checks the order against the store's published menu and prices it from the menu: prices sent by "
            "the caller are ignored. Tax is computed per line (line total incl. modifiers times the item's tax "
            "rate, rounded half-up to the minor unit). The order is created PENDING and submitted to Link in "
            "the background. With an `Idempotency-Key` header (scoped to the API client), a retried POST "
            "returns the first order (header `Idempotent-Replayed: true`); the same key with a different body "
            "is refused with 422 `idempotency_key_reused`."
        ),
        request=OrderRequestSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Up to 200 characters; one per intended order.",
            )
        ],
        responses={
            201: OrderSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Body is not JSON, or a bad Idempotency-Key."),
            409: OpenApiResponse(
                ErrorSerializer,
                description="store_not_accepting, with the reason (and reason_code); store_busy when a busy "
                "store's cap per 15 minutes is reached, with Retry-After (seconds until a slot frees).",
            ),
            422: ERRORS_422,
        },
        examples=[
            OpenApiExample(
                "Cheeseburger with bacon",
                request_only=True,
                value={
                    "store": "sf_1001",
                    "items": [
                        {
                            "item_id": "itm_1",
                            "quantity": 2,
                            "special_instructions": "no onions",
                            "modifiers": [{"modifier_id": "mod_1", "group_id": "mg_1", "quantity": 1}],
                        }
                    ],
                    "customer": {"name": "Ada L.", "phone": "+15555550100"},
                    "fulfillment": {"type": "pickup", "scheduled_for": None},
                    "tip": 300,
                    "notes": "",
                },
            )
        ],
    )
    def post(self, request):
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
            raise ApiError(
                400, "invalid_idempotency_key", f"Idempotency-Key is limited to {IDEMPOTENCY_KEY_MAX} chars."
            )
        serializer = OrderRequestSerializer(data=request.data)
        if not serializer.is_valid():
            raise ApiError(422, "invalid_order", "The order has invalid fields.", flatten_errors(serializer.errors))
        try:
            placed = order_place(to_order_request(serializer.validated_data), user=request.user, idempotency_key=key)
        except StoreNotAccepting as exc:  # store_busy (issue 28) carries Retry-After
            raise ApiError(409, exc.code, exc.message, exc.details, getattr(exc, "headers", None)) from exc
        except OrderError as exc:
            raise ApiError(422, exc.code, exc.message, exc.details) from exc
        order = _order_queryset().get(pk=placed.order.pk)
        headers = {"Location": f"{request.path}{order.external_order_id}/"}
        if not placed.created:
            headers["Idempotent-Replayed"] = "true"
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED, headers=headers)


class OrderDetailView(APIView):
    client_permissions = {"GET": ()}  # its own orders (all with see_all_orders)
    staff_permissions = {"GET": (VIEW_ORDER,)}

    @extend_schema(
        operation_id="orders_read",
        summary="Read an order",
        description="State, times, Link's reasons, cancel status and a timeline of transitions (with their "
        "cause), Link's events and our calls to Link.",
        responses={200: OrderDetailSerializer, 404: ErrorSerializer},
    )
    def get(self, request, external_order_id: str):
        return Response(OrderDetailSerializer(_order_or_404(request, external_order_id)).data)


class OrderCancelView(APIView):
    client_permissions = {"POST": (CANCEL_ORDER,)}
    staff_permissions = {"POST": (CANCEL_ORDER,)}

    @extend_schema(
        operation_id="orders_cancel",
        summary="Cancel an order",
        description=(
            "Allowed before READY. An order whose submission has not left yet is cancelled at once and never "
            "sent (200). Otherwise the cancel goes to Link and the order shows `cancel.status: requested` (202) "
            "until Link answers: CANCELLED, or `refused` with `cancel_refusal`. Asking again while a cancel "
            "is on its way changes nothing."
        ),
        request=CancelRequestSerializer,
        responses={
            200: OrderSerializer,
            202: OrderSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(ErrorSerializer, description="cancel_not_allowed: the order is READY or ended."),
            422: ErrorSerializer,
        },
    )
    def post(self, request, external_order_id: str):
        order = _order_or_404(
            request, external_order_id, Order.objects.only("pk")
        )  # the service reads it again, locked
        serializer = CancelRequestSerializer(data=request.data)
        if not serializer.is_valid():
            raise ApiError(422, "invalid_request", "The cancel has invalid fields.", flatten_errors(serializer.errors))
        try:
            order = order_cancel(order, user=request.user, **serializer.validated_data)
        except OrderActionRefused as exc:
            raise ApiError(409, exc.code, exc.message, exc.details) from exc
        order = _order_queryset().get(pk=order.pk)
        answer = status.HTTP_202_ACCEPTED if order.cancel_status == Order.CancelStatus.REQUESTED else status.HTTP_200_OK
        return Response(OrderSerializer(order).data, status=answer)

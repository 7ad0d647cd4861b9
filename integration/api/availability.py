"""``/api/v1/stores/{id}/availability/`` and ``/api/v1/availability/``: how long stores were scheduled,
accepting, and unavailable by cause (issue 26; figures from ``selectors.availability``)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.models.availability import CAUSES
from integration.selectors.availability import MAX_DAYS, store_availability_days, stores_availability_ranked

from .errors import ErrorSerializer
from .pagination import Pages
from .permissions import VIEW_STORE
from .stores import STORE_ID, _store_or_404

PERIOD = [
    OpenApiParameter(
        "from", OpenApiTypes.DATE, OpenApiParameter.QUERY, required=True, description="YYYY-MM-DD, store-local."
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATE,
        OpenApiParameter.QUERY,
        required=True,
        description=f"YYYY-MM-DD, inclusive; at most {MAX_DAYS} days.",
    ),
]
PRECEDENCE = (
    "Scheduled time is the store's opening hours (outside them a store is not scheduled, not down). Each "
    "scheduled second counts once: accepting, or the first cause that holds in this order: disconnected, "
    "paused_on_link / paused_by_ops, no_menu, link_unreachable (Link's circuit open while the store would "
    "otherwise accept). accepting_seconds plus the unavailable seconds equals scheduled_seconds, per day. "
    "Today counts up to now; days after today count zero."
)


class PeriodSerializer(serializers.Serializer):
    from_ = serializers.DateField(input_formats=["%Y-%m-%d"])
    to = serializers.DateField(input_formats=["%Y-%m-%d"])

    def to_internal_value(self, data):
        return super().to_internal_value({"from_": data.get("from"), "to": data.get("to")})

    def validate(self, attrs):
        first, last = attrs["from_"], attrs["to"]
        if last < first:
            raise serializers.ValidationError({"to": ["must be on or after from."]})
        if (last - first).days + 1 > MAX_DAYS:
            raise serializers.ValidationError({"to": [f"at most {MAX_DAYS} days from from (inclusive)."]})
        return attrs


def _period(request):
    params = PeriodSerializer(data=request.query_params)
    if not params.is_valid():
        errors = {("from" if k == "from_" else k): v for k, v in params.errors.items()}
        raise serializers.ValidationError(errors)
    return params.validated_data["from_"], params.validated_data["to"]


class UnavailableSerializer(serializers.Serializer):
    paused_on_link = serializers.IntegerField()
    paused_by_ops = serializers.IntegerField()
    disconnected = serializers.IntegerField()
    no_menu = serializers.IntegerField()
    link_unreachable = serializers.IntegerField()


class AvailabilityDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    scheduled_seconds = serializers.IntegerField()
    accepting_seconds = serializers.IntegerField()
    unavailable_seconds = UnavailableSerializer()


class StoreAvailabilitySerializer(serializers.Serializer):
    store = serializers.CharField(allow_null=True, help_text="The MP storefront id (external_store_id).")
    timezone = serializers.CharField()
    days = AvailabilityDaySerializer(many=True)


class StoreTotalsSerializer(serializers.Serializer):
    store = serializers.CharField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    scheduled_seconds = serializers.IntegerField()
    accepting_seconds = serializers.IntegerField()
    unavailable_seconds = UnavailableSerializer()


class StoreAvailabilityApi(APIView):
    client_permissions = {"GET": ()}
    staff_permissions = {"GET": (VIEW_STORE,)}

    @extend_schema(
        operation_id="stores_availability_retrieve",
        summary="One store's availability, day by day",
        description=PRECEDENCE,
        parameters=[STORE_ID, *PERIOD],
        responses={
            200: StoreAvailabilitySerializer,
            400: OpenApiResponse(ErrorSerializer, description="invalid_request"),
            404: OpenApiResponse(ErrorSerializer, description="store_not_found"),
        },
    )
    def get(self, request, store_id: str):
        first, last = _period(request)
        store = _store_or_404(store_id)
        days = store_availability_days(store, first, last)
        return Response(
            {"store": store.external_store_id, "timezone": store.timezone, "days": [d.as_dict() for d in days]}
        )


class AvailabilityListApi(APIView):
    client_permissions = {"GET": ()}
    staff_permissions = {"GET": (VIEW_STORE,)}
    pagination_class = Pages

    @extend_schema(
        operation_id="availability_list",
        summary="Every mapped store's availability totals for a period, worst first",
        description=(
            "Worst first: the most unavailable seconds, then the lowest share accepting. The order counts today "
            "as of the last rollup (every 30 s); the figures returned are exact, up to now. " + PRECEDENCE
        ),
        parameters=PERIOD,
        responses={
            200: StoreTotalsSerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, description="invalid_request"),
        },
    )
    def get(self, request):
        first, last = _period(request)
        totals = stores_availability_ranked(first, last)  # read a page at a time: the paginator's slice
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(totals, request, view=self)
        return paginator.get_paginated_response(
            [
                {
                    "store": t.store.external_store_id,
                    "name": t.store.name,
                    "timezone": t.store.timezone,
                    "scheduled_seconds": t.scheduled_seconds,
                    "accepting_seconds": t.accepting_seconds,
                    "unavailable_seconds": {c: t.unavailable_seconds[c] for c in CAUSES},
                }
                for t in page
            ]
        )

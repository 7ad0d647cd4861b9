"""The MP's own timed controls (issue 28): item and modifier snoozes, special hours, busy mode. Thin: the
rules are in ``services/menus/snoozes.py``, ``services/stores/special_hours.py`` and ``services/stores/busy.py``."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.models import ItemSnooze, Via
from integration.selectors.busy import busy_public
from integration.selectors.hours import store_special_hours_upcoming
from integration.services.menus.snoozes import SnoozeRefused, catalog_snooze, catalog_unsnooze
from integration.services.stores.busy import BusyRefused, store_busy_end, store_busy_set
from integration.services.stores.special_hours import SpecialHoursRefused, store_special_hours_replace

from .errors import ApiError, ErrorSerializer
from .permissions import MANAGE_CATALOG, MANAGE_STORES, VIEW_STORE
from .stores import STORE_ID, BusyOutputSerializer, _store_or_404

ENTRY_ID = OpenApiParameter("entry_id", str, OpenApiParameter.PATH, description="Link's id of the item or modifier.")


class SnoozeRequestSerializer(serializers.Serializer):
    until = serializers.CharField(
        max_length=64, help_text='An ISO datetime (without an offset: store-local), or "end_of_day" (store-local).'
    )


class SnoozeOutputSerializer(serializers.Serializer):
    item_id = serializers.CharField(required=False, help_text="For an item.")
    modifier_id = serializers.CharField(required=False, help_text="For a modifier.")
    snoozed_until = serializers.DateTimeField()


class SnoozeApi(APIView):
    """``kind`` comes from the route: items or modifiers."""

    kind = ItemSnooze.Kind.ITEM
    client_permissions = {"POST": (MANAGE_CATALOG,), "DELETE": (MANAGE_CATALOG,)}
    staff_permissions = {"POST": (MANAGE_CATALOG,), "DELETE": (MANAGE_CATALOG,)}

    @extend_schema(
        summary="Snooze a menu entry until a time",
        description="The catalog shows it `available: false` with `snoozed_until`, and ordering it answers 422 "
        "`item_unavailable` naming when it returns; it comes back by itself at `until`. `menu.updated` goes out "
        "at both ends. Link's own `available: false` still wins.",
        parameters=[STORE_ID, ENTRY_ID],
        request=SnoozeRequestSerializer,
        responses={
            200: SnoozeOutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="invalid_until"),
            404: OpenApiResponse(ErrorSerializer, description="store_not_found, item_not_found, modifier_not_found"),
        },
    )
    def post(self, request, store_id: str, entry_id: str):
        store = _store_or_404(store_id)
        body = SnoozeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            snooze = catalog_snooze(store, self.kind, entry_id, body.validated_data["until"], user=request.user)
        except SnoozeRefused as exc:
            raise ApiError(exc.status, exc.code, exc.message) from exc
        return Response({f"{self.kind}_id": snooze.link_id, "snoozed_until": snooze.until})

    @extend_schema(
        summary="End a snooze now",
        parameters=[STORE_ID, ENTRY_ID],
        request=None,
        responses={204: OpenApiResponse(description="Back on sale (also when it was not snoozed).")},
    )
    def delete(self, request, store_id: str, entry_id: str):
        catalog_unsnooze(_store_or_404(store_id), self.kind, entry_id, user=request.user)
        return Response(status=204)


class ItemSnoozeApi(SnoozeApi):
    kind = ItemSnooze.Kind.ITEM


class ModifierSnoozeApi(SnoozeApi):
    kind = ItemSnooze.Kind.MODIFIER


class SpecialHoursEntrySerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The store's own date.")
    closed = serializers.BooleanField(required=False, help_text="true: closed all day.")
    open = serializers.CharField(required=False, help_text="HH:MM, store-local.")
    close = serializers.CharField(required=False, help_text="HH:MM; at or before `open`: closes after midnight.")


class SpecialHoursApi(APIView):
    client_permissions = {"GET": (), "PUT": (MANAGE_STORES,)}
    staff_permissions = {"GET": (VIEW_STORE,), "PUT": (MANAGE_STORES,)}

    @extend_schema(
        summary="The store's special hours (from its local today on)",
        parameters=[STORE_ID],
        responses={200: SpecialHoursEntrySerializer(many=True)},
    )
    def get(self, request, store_id: str):
        return Response(store_special_hours_upcoming(_store_or_404(store_id)))

    @extend_schema(
        summary="Replace the store's special hours",
        description="On those store-local dates they replace the menu's hours (ordering outside them answers 409 "
        "`store_not_accepting` with reason_code `special_hours`). The list replaces the previous one; past dates "
        "are dropped.",
        parameters=[STORE_ID],
        request=SpecialHoursEntrySerializer(many=True),
        responses={
            200: SpecialHoursEntrySerializer(many=True),
            400: OpenApiResponse(ErrorSerializer, description="invalid_special_hours, each problem listed"),
        },
    )
    def put(self, request, store_id: str):
        store = _store_or_404(store_id)
        try:
            store_special_hours_replace(store, request.data, user=request.user, via=Via.API)
        except SpecialHoursRefused as exc:
            raise ApiError(400, "invalid_special_hours", exc.message, exc.problems) from exc
        return Response(store_special_hours_upcoming(store))


class BusyRequestSerializer(serializers.Serializer):
    extra_prep_minutes = serializers.IntegerField(min_value=0, max_value=240)
    until = serializers.DateTimeField(required=False, allow_null=True, default=None, help_text="null: until ended.")
    max_orders_per_15_min = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=1000, help_text="null: no cap."
    )


class BusyApi(APIView):
    client_permissions = {"POST": (MANAGE_STORES,), "DELETE": (MANAGE_STORES,)}
    staff_permissions = {"POST": (MANAGE_STORES,), "DELETE": (MANAGE_STORES,)}

    @extend_schema(
        summary="Busy mode on (or changed)",
        description="The store API shows `busy` so checkout can quote longer times. With a cap, an order beyond "
        "it in the trailing 15 minutes answers 409 `store_busy` with `Retry-After`. Ends by itself at `until`. "
        "Announced as `store.busy_changed`.",
        parameters=[STORE_ID],
        request=BusyRequestSerializer,
        responses={200: BusyOutputSerializer, 400: ErrorSerializer},
    )
    def post(self, request, store_id: str):
        store = _store_or_404(store_id)
        body = BusyRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            busy = store_busy_set(store, **body.validated_data, user=request.user, via=Via.API)
        except BusyRefused as exc:
            raise ApiError(400, "invalid_busy", str(exc)) from exc
        return Response(busy_public(busy))

    @extend_schema(
        summary="Busy mode off",
        parameters=[STORE_ID],
        request=None,
        responses={204: OpenApiResponse(description="Not busy (also when it was not).")},
    )
    def delete(self, request, store_id: str):
        store_busy_end(_store_or_404(store_id), user=request.user, via=Via.API)
        return Response(status=204)

"""``/api/v1/stores/``: which stores take orders, and the catalog the customer app renders."""

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import parse_etags
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.link.menus import DAYS
from integration.models import Menu, Store, Via
from integration.selectors.busy import busy_public, store_busy
from integration.selectors.hours import store_local_date, store_special_hours
from integration.selectors.menu_layer import catalog_with_layer, layer_etag_part
from integration.selectors.menus import menu_body, menu_etag
from integration.selectors.snoozes import catalog_etag_snoozed, catalog_snoozes_apply, snoozes_active
from integration.selectors.stores import (
    store_accepting,
    store_by_public_id,
    store_menu,
    store_published_menu,
    stores_for_api,
)
from integration.services.mp_events.events import accepting_reason_code

from .errors import ApiError, ErrorSerializer
from .pagination import Pages
from .permissions import VIEW_MENU, VIEW_STORE

STORE_ID = OpenApiParameter(
    "store_id", str, OpenApiParameter.PATH, description="The MP storefront id (external_store_id) or Link's venue id."
)


class HoursSerializer(serializers.Serializer):
    day = serializers.ChoiceField(choices=DAYS)
    open = serializers.CharField(help_text="HH:MM, store's local time.")
    close = serializers.CharField(help_text="HH:MM; at or before `open` means it closes after midnight.")


class StoreMenuSummarySerializer(serializers.Serializer):
    menu_id = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    state = serializers.ChoiceField(choices=Menu.State.choices)
    published_at = serializers.DateTimeField(allow_null=True)
    item_count = serializers.IntegerField()


class BusySetBySerializer(serializers.Serializer):
    via = serializers.ChoiceField(choices=Via.choices)
    who = serializers.CharField(allow_null=True)
    trigger = serializers.CharField(allow_null=True)


class BusyOutputSerializer(serializers.Serializer):
    extra_prep_minutes = serializers.IntegerField()
    max_orders_per_15_min = serializers.IntegerField(allow_null=True)
    since = serializers.DateTimeField()
    until = serializers.DateTimeField(allow_null=True)
    set_by = BusySetBySerializer()


class SpecialHoursTodaySerializer(serializers.Serializer):
    date = serializers.DateField()
    closed = serializers.BooleanField(required=False)
    open = serializers.CharField(required=False)
    close = serializers.CharField(required=False)


class StoreOutputSerializer(serializers.Serializer):
    id = serializers.CharField(
        source="external_store_id", allow_null=True, help_text="MP storefront id; null = unmapped."
    )
    venue_id = serializers.CharField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    address = serializers.DictField()
    state = serializers.ChoiceField(choices=Store.State.choices)
    accepting_orders = serializers.BooleanField()
    not_accepting_reason = serializers.CharField(allow_null=True, help_text="Why not, when not accepting.")
    not_accepting_code = serializers.CharField(
        allow_null=True,
        help_text="The reason as a code (as store.accepting_changed gives it): paused, outside_hours, "
        "special_hours, ...",
    )
    busy = BusyOutputSerializer(
        allow_null=True, help_text="Busy mode (quote extra prep minutes at checkout); null when not busy."
    )
    special_hours_today = SpecialHoursTodaySerializer(
        allow_null=True, help_text="Today's special hours (store-local), replacing the menu's hours; null: none."
    )
    hours = HoursSerializer(many=True, help_text="From the published menu; empty means always open.")
    menu = StoreMenuSummarySerializer(allow_null=True)


def _store_data(store: Store) -> dict:
    now = timezone.now()
    accepting, reason = store_accepting(store, now)
    menu = store_menu(store)
    published = store_published_menu(store)
    return {
        "external_store_id": store.external_store_id,
        "venue_id": store.venue_id,
        "name": store.name,
        "timezone": store.timezone,
        "address": store.address,
        "state": store.state,
        "accepting_orders": accepting,
        "not_accepting_reason": reason or None,
        "not_accepting_code": accepting_reason_code(reason),
        "busy": busy_public(store_busy(store, now)),
        "special_hours_today": store_special_hours(store, now).get(store_local_date(store, now)),
        "hours": published.hours if published else [],
        "menu": menu,
    }


def _store_or_404(store_id: str) -> Store:
    store = store_by_public_id(store_id)
    if store is None:
        raise ApiError(404, "store_not_found", f"No store {store_id!r} (give an MP storefront id or a Link venue id).")
    return store


class StoreListApi(APIView):
    client_permissions = {"GET": ()}
    staff_permissions = {"GET": (VIEW_STORE,)}
    OutputSerializer = StoreOutputSerializer
    pagination_class = Pages  # (also tells the schema the answer is a page)

    @extend_schema(
        operation_id="stores_list",
        summary="Stores, with whether each accepts orders now",
        responses={200: OutputSerializer(many=True)},
    )
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(stores_for_api(), request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer([_store_data(s) for s in page], many=True).data)


class StoreDetailApi(APIView):
    client_permissions = {"GET": ()}
    staff_permissions = {"GET": (VIEW_STORE,)}
    OutputSerializer = StoreOutputSerializer

    @extend_schema(
        operation_id="stores_retrieve",
        summary="One store: accepting orders or not, and why not",
        description="A store accepts orders when it is ACTIVE on Link, mapped to an MP storefront, has a "
        "published menu, and is inside that menu's opening hours in the store's own time zone.",
        parameters=[STORE_ID],
        responses={200: OutputSerializer, 404: OpenApiResponse(ErrorSerializer, description="store_not_found")},
    )
    def get(self, request, store_id: str):
        return Response(self.OutputSerializer(_store_data(_store_or_404(store_id))).data)


class CatalogModifierSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    price = serializers.IntegerField(help_text="What the customer pays (our price rule applied), minor units.")
    link_price = serializers.IntegerField(help_text="The restaurant's price on Link, minor units.")
    available = serializers.BooleanField()
    snoozed_until = serializers.DateTimeField(allow_null=True, help_text="Snoozed by the MP until then; else null.")
    modifier_group_ids = serializers.ListField(
        child=serializers.CharField(), help_text="Groups this modifier opens (nesting), listed in modifier_groups."
    )


class CatalogGroupSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    min_selections = serializers.IntegerField()
    max_selections = serializers.IntegerField(help_text="0 means no upper limit.")
    modifiers = CatalogModifierSerializer(many=True)


class CatalogItemSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField(help_text="Ours where overridden, else Link's.")
    description = serializers.CharField(help_text="Ours where overridden, else Link's.")
    link_name = serializers.CharField(help_text="The restaurant's name on Link.")
    link_description = serializers.CharField(help_text="The restaurant's description on Link.")
    price = serializers.IntegerField(help_text="What the customer pays (our price rule applied), minor units.")
    link_price = serializers.IntegerField(help_text="The restaurant's price on Link, minor units.")
    available = serializers.BooleanField()
    snoozed_until = serializers.DateTimeField(allow_null=True, help_text="Snoozed by the MP until then; else null.")
    image_url = serializers.CharField(allow_null=True)
    tax_rate = serializers.CharField(help_text='Decimal string, e.g. "0.0875".')
    modifier_group_ids = serializers.ListField(child=serializers.CharField(), help_text="Listed in modifier_groups.")


class CatalogCategorySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    sort_order = serializers.IntegerField()
    items = CatalogItemSerializer(many=True)


class CatalogSerializer(serializers.Serializer):
    store_id = serializers.CharField(allow_null=True)
    venue_id = serializers.CharField()
    menu_id = serializers.CharField()
    version = serializers.IntegerField()
    currency = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    hours = HoursSerializer(many=True)
    categories = CatalogCategorySerializer(many=True)
    modifier_groups = CatalogGroupSerializer(
        many=True, help_text="Every modifier group once; items and modifiers refer to them by id."
    )


class StoreMenuApi(APIView):
    """The catalog is built as plain data by the selector and rendered once per version (``menu_body``,
    cached by ETag): ``OutputSerializer`` documents its shape, but running thousands of items through DRF
    fields would dominate the time."""

    OutputSerializer = CatalogSerializer
    client_permissions = {"GET": ()}
    staff_permissions = {"GET": (VIEW_STORE, VIEW_MENU)}

    @extend_schema(
        operation_id="stores_menu_retrieve",
        summary="The store's published catalog",
        description="Categories with their items; modifier groups (with their modifiers) listed once and "
        "referred to by id. Send If-None-Match with the last ETag: 304 while nothing changed (a new "
        "version, an availability change or an unpublish changes the ETag).",
        parameters=[
            STORE_ID,
            OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False),
        ],
        responses={
            200: OutputSerializer,
            304: OpenApiResponse(description="Not modified since the ETag given in If-None-Match."),
            404: OpenApiResponse(ErrorSerializer, description="store_not_found or menu_not_published"),
        },
    )
    def get(self, request, store_id: str):
        store = _store_or_404(store_id)
        menu = store_published_menu(store)
        if menu is None:
            raise ApiError(404, "menu_not_published", f"Store {store_id!r} has no published menu right now.")
        active = snoozes_active(store)  # the MP's own snoozes, on or off by their time (issue 28)
        layered = f'{menu_etag(menu, store)[:-1]}-l{layer_etag_part(store)}"'  # price rules, overrides (issue 27)
        etag = catalog_etag_snoozed(layered, active)
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        wanted = request.headers.get("If-None-Match")
        if wanted and (wanted.strip() == "*" or etag in {t.removeprefix("W/") for t in parse_etags(wanted)}):
            return Response(status=304, headers=headers)
        body = menu_body(
            menu, store, etag, overlay=lambda content: catalog_snoozes_apply(catalog_with_layer(content, store), active)
        )
        return HttpResponse(body, content_type="application/json", headers=headers)

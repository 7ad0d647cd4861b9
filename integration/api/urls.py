from django.urls import path, register_converter

from .availability import AvailabilityListApi, StoreAvailabilityApi
from .menu_layer import ItemOverrideApi, MenuDiffApi, PriceRuleDetailApi, PriceRuleListApi
from .notifications import EndpointDetailView, EndpointListView, EndpointRotateView, EventFeedView
from .orders import OrderCancelView, OrderDetailView, OrderListView
from .stores import StoreDetailApi, StoreListApi, StoreMenuApi
from .timed import BusyApi, ItemSnoozeApi, ModifierSnoozeApi, SpecialHoursApi


class IdConverter:
    """A path id: any characters but "/" and NUL (PostgreSQL cannot compare NUL), so NUL is a 404."""

    regex = "[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(IdConverter, "id")

urlpatterns: list = [
    path("orders/", OrderListView.as_view(), name="orders"),
    path("orders/<id:external_order_id>/", OrderDetailView.as_view(), name="order-detail"),
    path("orders/<id:external_order_id>/cancel/", OrderCancelView.as_view(), name="order-cancel"),
    path("stores/", StoreListApi.as_view(), name="store-list"),
    path("stores/<id:store_id>/", StoreDetailApi.as_view(), name="store-detail"),
    path("stores/<id:store_id>/menu/", StoreMenuApi.as_view(), name="store-menu"),
    path("stores/<id:store_id>/availability/", StoreAvailabilityApi.as_view(), name="store-availability"),
    path("availability/", AvailabilityListApi.as_view(), name="availability"),
    # Issue 28: the MP's own timed controls.
    path("stores/<id:store_id>/menu/items/<id:entry_id>/snooze/", ItemSnoozeApi.as_view(), name="item-snooze"),
    path(
        "stores/<id:store_id>/menu/modifiers/<id:entry_id>/snooze/", ModifierSnoozeApi.as_view(), name="modifier-snooze"
    ),
    path("stores/<id:store_id>/special-hours/", SpecialHoursApi.as_view(), name="store-special-hours"),
    path("stores/<id:store_id>/busy/", BusyApi.as_view(), name="store-busy"),
    path("stores/<id:store_id>/menu/diff/", MenuDiffApi.as_view(), name="store-menu-diff"),
    path("stores/<id:store_id>/menu/items/<id:item_id>/override/", ItemOverrideApi.as_view(), name="item-override"),
    path("price-rules/", PriceRuleListApi.as_view(), name="price-rules"),
    path("price-rules/<int:rule_id>/", PriceRuleDetailApi.as_view(), name="price-rule"),
    path("webhook-endpoints/", EndpointListView.as_view(), name="webhook-endpoints"),
    path("webhook-endpoints/<int:endpoint_id>/", EndpointDetailView.as_view(), name="webhook-endpoint"),
    path(
        "webhook-endpoints/<int:endpoint_id>/rotate-secret/",
        EndpointRotateView.as_view(),
        name="webhook-endpoint-rotate",
    ),
    path("events/", EventFeedView.as_view(), name="events"),
]

from django.urls import path

from .orders import OrderCancelView, OrderDetailView, OrderListView
from .stores import StoreDetailApi, StoreListApi, StoreMenuApi

urlpatterns: list = [
    path("orders/", OrderListView.as_view(), name="orders"),
    path("orders/<str:external_order_id>/", OrderDetailView.as_view(), name="order-detail"),
    path("orders/<str:external_order_id>/cancel/", OrderCancelView.as_view(), name="order-cancel"),
    path("stores/", StoreListApi.as_view(), name="store-list"),
    path("stores/<str:store_id>/", StoreDetailApi.as_view(), name="store-detail"),
    path("stores/<str:store_id>/menu/", StoreMenuApi.as_view(), name="store-menu"),
]

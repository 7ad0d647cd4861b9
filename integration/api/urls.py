from django.urls import path

from .orders import OrderCancelView, OrderDetailView, OrderListView

urlpatterns: list = [
    path("orders/", OrderListView.as_view(), name="orders"),
    path("orders/<str:external_order_id>/", OrderDetailView.as_view(), name="order-detail"),
    path("orders/<str:external_order_id>/cancel/", OrderCancelView.as_view(), name="order-cancel"),
]

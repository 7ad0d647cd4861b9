from django.urls import path

from .stores import StoreDetailApi, StoreListApi, StoreMenuApi

urlpatterns: list = [
    path("stores/", StoreListApi.as_view(), name="store-list"),
    path("stores/<str:store_id>/", StoreDetailApi.as_view(), name="store-detail"),
    path("stores/<str:store_id>/menu/", StoreMenuApi.as_view(), name="store-menu"),
]

import pytest
from rest_framework.test import APIClient

from tests.order_fixtures import api_client

pytestmark = pytest.mark.django_db


def test_unauthenticated_api_call_is_401_with_the_error_shape():
    resp = APIClient().get("/api/v1/orders/mp_missing/")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "not_authenticated"
    assert "WWW-Authenticate" in resp.headers


def test_unknown_route_under_the_api_is_404_not_500():
    resp = api_client().get("/api/v1/orders/mp_missing/")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"]


def test_wrong_method_is_405_with_allow():
    resp = api_client().delete("/api/v1/orders/")
    assert resp.status_code == 405
    assert resp.json()["error"]["code"] == "method_not_allowed"
    assert "Allow" in resp.headers


def test_openapi_schema_is_valid_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/v1/orders/" in (tmp_path / "schema.yml").read_text()

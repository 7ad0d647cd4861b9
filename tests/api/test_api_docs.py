"""Issue 11 row 10: the API docs work offline and the schema says what the endpoints return."""

import re

import pytest
from rest_framework.test import APIClient

from tests.order_fixtures import api_client, make_store

pytestmark = pytest.mark.django_db


def test_docs_page_loads_swagger_ui_from_the_project_only():
    client = APIClient()
    html = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r'"(/static/[^"]+)"', html)
    assert assets and not [a for a in assets if a.startswith(("http:", "https:", "//"))], assets
    scripts = [a for a in assets if a.endswith(".js")]
    assert any("swagger-ui-bundle" in a for a in scripts)
    for asset in assets:
        if asset.startswith("/static/"):
            resp = client.get(asset)
            assert resp.status_code == 200, asset
            b"".join(resp.streaming_content) if resp.streaming else resp.content


def test_schema_documents_the_paginated_store_list():
    schema = APIClient().get("/api/schema/?format=json").json()
    answer = schema["paths"]["/api/v1/stores/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    ref = answer["$ref"].rsplit("/", 1)[-1]
    listed = schema["components"]["schemas"][ref]
    assert {"count", "next", "previous", "results"} <= set(listed["properties"])
    params = {p["name"] for p in schema["paths"]["/api/v1/stores/"]["get"]["parameters"]}
    assert {"limit", "offset"} <= params
    make_store()
    body = api_client().get("/api/v1/stores/").json()
    assert set(body) == set(listed["properties"]) and len(body["results"]) == 1


def test_schema_documents_a_400_on_cancel_and_place():
    schema = APIClient().get("/api/schema/?format=json").json()
    assert "400" in schema["paths"]["/api/v1/orders/{external_order_id}/cancel/"]["post"]["responses"]
    assert "400" in schema["paths"]["/api/v1/orders/"]["post"]["responses"]


@pytest.mark.parametrize(
    "query", ["offset=null", "limit=-1", "limit=0", "offset=-3", "limit=abc&offset=0", "limit=501"]
)
def test_store_list_refuses_bad_paging_instead_of_ignoring_it(query):
    make_store()
    resp = api_client().get(f"/api/v1/stores/?{query}")
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"]["code"] == "invalid_request"
    assert api_client().get("/api/v1/stores/?limit=1&offset=0").status_code == 200

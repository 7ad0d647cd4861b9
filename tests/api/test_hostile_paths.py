"""Issue 11 row 9: a NUL in a path id is a 404 with the usual error body."""

import pytest

from integration.models import Order
from tests.order_fixtures import api_client, make_store, order_request

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders/%00/",
        "/api/v1/orders/ord%00x/",
        "/api/v1/orders/%00/cancel/",
        "/api/v1/stores/%00/",
        "/api/v1/stores/sf_1%00/menu/",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_nul_in_a_path_id_is_404(path, method):
    make_store()
    api = api_client()
    placed = api.post("/api/v1/orders/", order_request(), format="json")
    assert placed.status_code == 201
    before = list(Order.objects.values_list("pk", "state", "cancel_requested_at"))
    resp = getattr(api, method)(path, {"reason_code": "OTHER"}, format="json")
    assert resp.status_code == 404, resp.content
    assert resp.json()["error"]["code"] == "not_found"
    assert list(Order.objects.values_list("pk", "state", "cancel_requested_at")) == before

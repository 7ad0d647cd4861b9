"""Issue 11 rows 2 and 3: every door checks the role.

A person's admin login grants on the API exactly what their admin role grants (Support changes nothing);
an API client acts through its token's explicit permissions and sees and cancels only its own orders."""

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from integration.models import Order, OutboundCall
from integration.services.ops.roles import OPS, SUPPORT, roles_setup
from tests.order_fixtures import api_client, api_user, make_store, order_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return make_store()


def person(role: str | None, *, superuser: bool = False, staff: bool = True) -> APIClient:
    roles_setup()
    user = User.objects.create_user(f"person-{role}-{superuser}", is_staff=staff, is_superuser=superuser)
    if role:
        user.groups.add(Group.objects.get(name=role))
    client = APIClient()
    client.force_login(user)  # the admin's session cookie
    return client


def placed_by(client: APIClient) -> str:
    resp = client.post("/api/v1/orders/", order_request(), format="json")
    assert resp.status_code == 201, resp.content
    return resp.json()["external_order_id"]


def snapshot():
    orders = list(Order.objects.values_list("pk", "state", "cancel_requested_at").order_by("pk"))
    return orders, OutboundCall.objects.count()


def test_support_session_reads_but_changes_nothing(store):
    order_id = placed_by(api_client())
    support = person(SUPPORT)
    before = snapshot()
    assert support.post("/api/v1/orders/", order_request(), format="json").status_code == 403
    cancel = support.post(f"/api/v1/orders/{order_id}/cancel/", {"reason_code": "OTHER"}, format="json")
    assert cancel.status_code == 403 and cancel.json()["error"]["code"] == "permission_denied"
    assert snapshot() == before
    assert support.get(f"/api/v1/orders/{order_id}/").status_code == 200
    assert support.get("/api/v1/stores/").status_code == 200
    assert support.get("/api/v1/stores/sf_1/menu/").status_code == 200


def test_ops_session_cancels_as_in_the_admin_but_places_nothing(store):
    order_id = placed_by(api_client())
    ops = person(OPS)
    assert ops.post("/api/v1/orders/", order_request(), format="json").status_code == 403
    cancel = ops.post(f"/api/v1/orders/{order_id}/cancel/", {"reason_code": "OTHER"}, format="json")
    assert cancel.status_code in (200, 202), cancel.content
    assert Order.objects.get(external_order_id=order_id).cancel_reason_code == "OTHER"


def test_a_session_without_a_role_or_staff_gets_nothing(store):
    order_id = placed_by(api_client())
    for client in (person(None), person(OPS, staff=False)):
        assert client.get("/api/v1/stores/").status_code == 403
        assert client.get(f"/api/v1/orders/{order_id}/").status_code == 403


def test_a_superuser_session_may_do_everything(store):
    assert placed_by(person(None, superuser=True))


def test_a_client_sees_and_cancels_only_its_own_orders(store):
    a, b = api_client(api_user("client-a")), api_client(api_user("client-b"))
    order_id = placed_by(a)
    before = snapshot()
    read = b.get(f"/api/v1/orders/{order_id}/")
    assert read.status_code == 404 and read.json()["error"]["code"] == "not_found"
    assert "customer" not in read.content.decode()
    cancel = b.post(f"/api/v1/orders/{order_id}/cancel/", {"reason_code": "OTHER"}, format="json")
    assert cancel.status_code == 404
    assert snapshot() == before
    assert a.get(f"/api/v1/orders/{order_id}/").json()["customer"]["name"]


def test_a_back_office_client_with_see_all_orders_reads_and_cancels_any(store):
    order_id = placed_by(api_client(api_user("client-a")))
    back_office = api_client(api_user("back-office", permissions=["see_all_orders", "cancel_order"]))
    assert back_office.get(f"/api/v1/orders/{order_id}/").status_code == 200
    cancel = back_office.post(f"/api/v1/orders/{order_id}/cancel/", {"reason_code": "OTHER"}, format="json")
    assert cancel.status_code in (200, 202)
    assert back_office.post("/api/v1/orders/", order_request(), format="json").status_code == 403


def test_client_permissions_are_explicit(store):
    reader = api_client(api_user("catalog-reader", permissions=[]))
    assert reader.get("/api/v1/stores/").status_code == 200
    assert reader.get("/api/v1/stores/sf_1/").status_code == 200
    assert reader.get("/api/v1/stores/sf_1/menu/").status_code == 200
    assert reader.post("/api/v1/orders/", order_request(), format="json").status_code == 403
    order_id = placed_by(api_client(api_user("placer", permissions=["place_order"])))
    placer = api_client(User.objects.get(username="placer"))
    assert placer.get(f"/api/v1/orders/{order_id}/").status_code == 200
    assert placer.post(f"/api/v1/orders/{order_id}/cancel/", {"reason_code": "OTHER"}, format="json").status_code == 403
    assert not Order.objects.filter(cancel_requested_at__isnull=False).exists()

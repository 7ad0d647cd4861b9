"""The client streams bodies (size cap); parsing must not touch requests' consumed content."""

import pytest

from integration.link.client import LinkClient, PermanentError
from tests.fake_http import JsonHandler, serving

pytestmark = pytest.mark.django_db


class _Link(JsonHandler):
    routes: dict = {}

    def do_POST(self):
        self.send_json(200, {"access_token": "tok", "token_type": "Bearer", "expires_in": 3600})

    def do_GET(self):
        status, body = self.routes[self.path]
        self.send_json(status, body)


@pytest.fixture
def real_link():
    with serving(_Link) as url:
        yield url


def test_json_body_of_a_2xx_is_parsed(real_link):
    _Link.routes = {"/v2/venues/ven_1": (200, {"venue_id": "ven_1", "status": "ACTIVE"})}
    response = LinkClient(base_url=real_link).request("GET", "/v2/venues/ven_1", max_bytes=1000)
    assert response.status_code == 200
    assert response.data == {"venue_id": "ven_1", "status": "ACTIVE"}


def test_error_code_of_a_4xx_is_read_from_the_streamed_body(real_link):
    _Link.routes = {"/v2/orders/x": (404, {"error": {"code": "order_not_found", "message": "No such order."}})}
    with pytest.raises(PermanentError) as caught:
        LinkClient(base_url=real_link).request("GET", "/v2/orders/x")
    assert (caught.value.code, caught.value.message, caught.value.status_code) == (
        "order_not_found",
        "No such order.",
        404,
    )

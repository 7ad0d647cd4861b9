"""The client streams bodies (size cap); parsing must not touch requests' consumed content."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integration.link.client import LinkClient, PermanentError

pytestmark = pytest.mark.django_db


class _Link(BaseHTTPRequestHandler):
    routes: dict = {}

    def do_POST(self):
        self._answer(200, {"access_token": "tok", "token_type": "Bearer", "expires_in": 3600})

    def do_GET(self):
        status, body = self.routes[self.path]
        self._answer(status, body)

    def _answer(self, status, body):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def real_link():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Link)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


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

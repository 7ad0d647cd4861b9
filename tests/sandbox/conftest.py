"""Fixtures for the sandbox's own tests: an in-process sandbox, a webhook receiver, a tiny Link client.

No database: these tests talk HTTP to a SandboxServer on a free port.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from dev.sandbox.control import SandboxControl
from dev.sandbox.server import SandboxServer
from integration.link.signatures import SIGNATURE_HEADER, SignatureError, verify

SECRETS = ["whsec-sandbox-test"]
CLIENT_ID, CLIENT_SECRET = "mp-client", "mp-secret"
FAST = {"confirm_after": 0.05, "prep_after": 0.05, "ready_after": 0.05, "reject_rate": 0.0, "cancel_rate": 0.0}


class Receiver:
    """The MP's webhook endpoint, reduced to: verify the signature, record, answer."""

    def __init__(self, secrets=SECRETS):
        self.secrets = list(secrets)
        self.received: list[dict] = []  # verified events, in arrival order
        self.rejected: list[str] = []  # signature errors
        self.script: list[int] = []  # statuses to answer next, then 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver._take(self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/link/webhooks/"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def _take(self, headers, body: bytes) -> int:
        try:
            verify(headers.get(SIGNATURE_HEADER), body, self.secrets)
        except SignatureError as error:
            with self.lock:
                self.rejected.append(error.code)
            return 401
        with self.lock:
            status = self.script.pop(0) if self.script else 200
            event = json.loads(body)
            self.received.append({**event, "_status": status, "_content_type": headers.get("Content-Type")})
            return status

    def events(self, type_prefix: str = "") -> list[dict]:
        with self.lock:
            return [e for e in self.received if e["_status"] == 200 and e["type"].startswith(type_prefix)]

    def types(self, type_prefix: str = "") -> list[str]:
        return [e["type"] for e in self.events(type_prefix)]

    def wait_for(self, predicate, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out; received {[e['type'] for e in self.received]}")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class LinkApi:
    """What the MP does on the wire, with no retries: tests see every answer."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()
        self.token = None

    def fetch_token(self, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) -> requests.Response:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        response = self.session.post(f"{self.base_url}/oauth/token", data=form, timeout=5)
        if response.status_code == 200:
            self.token = response.json()["access_token"]
        return response

    def call(self, method: str, path: str, body=None, key: str | None = None, timeout=5, **kw) -> requests.Response:
        if self.token is None:
            self.fetch_token()
        headers = {"Authorization": f"Bearer {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        return self.session.request(method, url, json=body, headers=headers, timeout=timeout, **kw)

    def submit(self, body: dict, key: str | None = None, **kw) -> requests.Response:
        return self.call("POST", "/v2/orders", body, key=key or body["external_order_id"], **kw)


def order_body(external_order_id: str, venue_id: str = "ven_1", **overrides) -> dict:
    """The contract's example order: 2 x (899 + 150) = 2098; 2098 + 184 + 300 = 2582."""
    body = {
        "external_order_id": external_order_id,
        "venue_id": venue_id,
        "placed_at": "2026-11-27T12:00:00Z",
        "currency": "USD",
        "fulfillment": {"type": "pickup", "scheduled_for": None},
        "customer": {"name": "Ada L.", "phone": "+15555550100"},
        "items": [
            {
                "item_id": "itm_1",
                "name": "Cheeseburger",
                "quantity": 2,
                "unit_price": 899,
                "special_instructions": "no onions",
                "modifiers": [
                    {"modifier_id": "mod_1", "group_id": "mg_1", "name": "Bacon", "quantity": 1, "unit_price": 150}
                ],
            }
        ],
        "totals": {"subtotal": 2098, "tax": 184, "tip": 300, "delivery_fee": 0, "discount": 0, "total": 2582},
        "notes": "",
    }
    body.update(overrides)
    return body


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def make_sandbox():
    """Start SandboxServers on free ports (fast restaurants, test credentials); all stopped at teardown."""
    started = []

    def make(**kwargs) -> SandboxServer:
        options = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "webhook_secrets": SECRETS,
            "seed": 7,
            "restaurant": dict(FAST),
            "webhook_backoff": 0.05,
            "webhook_backoff_max": 0.2,
            **kwargs,
        }
        server = SandboxServer(**options).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def sandbox(make_sandbox, receiver) -> SandboxServer:
    return make_sandbox(target=receiver.url)


@pytest.fixture
def control(sandbox) -> SandboxControl:
    control = SandboxControl(sandbox.base_url)
    control.connect_venue("ven_1", "Burger Barn", external_store_id="sf_1")
    return control


@pytest.fixture
def api(sandbox) -> LinkApi:
    return LinkApi(sandbox.base_url)

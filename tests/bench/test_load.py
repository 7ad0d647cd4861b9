"""The bench's load generator: a paced run counts a late request's wait, a closed loop cannot."""

import threading
import time
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.bench.common import Connection, load

DELAY = 0.05


class SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(DELAY)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def send(path: str, conn: Connection, i: int) -> int:
    return conn.post(path, b"{}", {"Content-Type": "application/json"})


def test_a_closed_loop_sees_only_the_service_time(slow_server):
    r = load(partial(send, "/"), slow_server, 20, processes=1, threads=1)
    assert r["statuses"] == {204: 20}
    assert DELAY * 1000 <= r["p50_ms"] < DELAY * 1000 * 3


def test_a_paced_run_counts_the_wait_of_requests_sent_faster_than_answered(slow_server):
    # One connection answers 20 a second; asked for 40 a second, request i waits behind i / 2 others.
    r = load(partial(send, "/"), slow_server, 20, processes=1, threads=1, rate=40)
    assert r["statuses"] == {204: 20}
    assert r["p99_ms"] > 10 * DELAY * 1000 / 2

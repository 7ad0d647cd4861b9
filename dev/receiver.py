"""A small consumer of linkbridge's webhooks: verifies each delivery with ``standardwebhooks``.

``manage.py link_demo receiver`` runs it for the demo (it prints what it gets; demo only, like every
module of ``dev/``); the tests run it in a thread with a ``respond`` hook that fails or stalls on purpose.
"""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    webhook_id: str
    headers: dict
    body: dict | None
    valid: bool
    error: str = ""


@dataclass
class Answer:
    status: int = 204
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 resets connections when a sender opens dozens at once
    daemon_threads = True


class WebhookReceiver:
    """Verifies every delivery with every secret it knows; keeps what it accepted (2xx) in ``accepted``."""

    def __init__(
        self,
        secrets: list[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        respond: Callable[[Delivery], Answer] | None = None,
        on_delivery: Callable[[Delivery, Answer], None] | None = None,
        keep_alive: bool = False,
    ):
        self.secrets = list(secrets or [])
        self.respond = respond or (lambda delivery: Answer(204 if delivery.valid else 400))
        self.on_delivery = on_delivery
        self.keep_alive = keep_alive  # HTTP/1.1 persistent connections (the deliveries bench: a faster receiver)
        self.received: list[Delivery] = []
        self.accepted: list[Delivery] = []
        self.lock = threading.Lock()
        self.server = _Server((host, port), self._handler())
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def verify(self, raw: bytes, headers: dict) -> Delivery:
        webhook_id = headers.get("webhook-id", "")
        error = "no secret configured"
        for secret in self.secrets:
            try:
                body = Webhook(secret).verify(raw, headers)
            except WebhookVerificationError as exc:
                error = str(exc)
                continue
            return Delivery(webhook_id, headers, body, True)
        return Delivery(webhook_id, headers, None, False, error)

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if receiver.keep_alive else "HTTP/1.0"

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                delivery = receiver.verify(raw, {k.lower(): v for k, v in self.headers.items()})
                answer = receiver.respond(delivery)
                with receiver.lock:
                    receiver.received.append(delivery)
                if answer.delay:
                    threading.Event().wait(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    return  # the sender gave up waiting; it will try again
                if 200 <= answer.status < 300:
                    with receiver.lock:
                        receiver.accepted.append(delivery)
                if receiver.on_delivery:
                    receiver.on_delivery(delivery, answer)

            def log_message(self, *args):
                pass

        return Handler

    def start(self) -> "WebhookReceiver":
        # stop() waits for the serving loop to notice: it polls every 0.05 s (the default, 0.5 s, cost each
        # test that starts a receiver up to half a second at its teardown).
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def describe(delivery: Delivery) -> str:
    """One line for a person: what happened, to which order or store."""
    if not delivery.valid:
        return f"REFUSED {delivery.webhook_id or '(no id)'}: {delivery.error}"
    body = delivery.body or {}
    data = body.get("data") or {}
    if "external_order_id" in data:
        subject = f"order {data['external_order_id']} #{data.get('sequence')} now {data.get('state')}"
    elif "store" in data:
        subject = f"store {data['store'].get('external_store_id') or data['store'].get('venue_id')}"
        subject += f" accepting={data['accepting']} ({data['reason']})" if "accepting" in data else ""
        subject += f" menu v{data['version']} {data['change']}" if "change" in data else ""
    else:
        subject = json.dumps(data)[:120]
    return f"{body.get('type')} {delivery.webhook_id}: {subject} (signature ok)"

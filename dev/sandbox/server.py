"""The sandbox's HTTP face: routing, auth, faults and the control API over SandboxState's stores.

Three kinds of routes: ``token`` (/oauth/token), ``api`` (/v2/* and menu_url; bearer token
required) and ``control`` (/_sandbox/*; no auth, never faulted). Every token and api request is
logged for /_sandbox/calls.
"""

import base64
import binascii
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .faults import Faults
from .state import SandboxState
from .util import ApiError
from .webhooks import WebhookDispatcher

logger = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024
DEV_CLIENT_SECRET = "linkbridge-dev-secret"  # the same development default as settings.LINK_CLIENT_SECRET


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: object  # email.message.Message: case-insensitive get()
    raw: bytes
    params: dict = field(default_factory=dict)

    def json(self):
        if not self.raw.strip():
            return {}
        try:
            return json.loads(self.raw)
        except ValueError:
            raise ApiError(400, "invalid_json", "The body is not valid JSON.") from None

    def form(self) -> dict:
        return {key: values[-1] for key, values in parse_qs(self.raw.decode(errors="replace")).items()}

    def logged_body(self):
        """The body as /_sandbox/calls shows it: JSON parsed, a form with its secret hidden."""
        if not self.raw:
            return None
        if "form-urlencoded" in (self.headers.get("Content-Type") or ""):
            return {key: "***" if key == "client_secret" else value for key, value in self.form().items()}
        try:
            return json.loads(self.raw)
        except ValueError:
            return self.raw[:2000].decode(errors="replace")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    handler: object
    kind: str  # token | api | control


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        logger.debug("sandbox connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LinkSandbox/1.0"
    disable_nagle_algorithm = True  # headers and body leave in two writes: no 40 ms delayed-ACK stall

    def _dispatch(self):
        self.server.app.handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def log_message(self, format, *args):
        logger.debug("%s %s", self.address_string(), format % args)


class SandboxServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        target: str | None = None,
        webhook_secrets: list[str] | tuple[str, ...] = ("whsec-dev",),
        client_id: str = "linkbridge-dev",
        client_secret: str = DEV_CLIENT_SECRET,
        token_ttl: float = 3600,
        seed: int | None = None,
        faults: dict | None = None,
        restaurant: dict | None = None,
        webhook_max_attempts: int = 20,
        webhook_timeout: float = 5.0,
        webhook_backoff: float = 0.2,
        webhook_backoff_max: float = 5.0,
        webhook_workers: int = 4,
        public_url: str | None = None,
    ):
        """``target`` None: webhooks are recorded (status "not_sent") but not delivered.
        ``seed`` None: a random seed, readable as ``.seed``."""
        self.seed = secrets.randbelow(2**31) if seed is None else int(seed)
        self.httpd = _HTTPServer((host, port), _Handler)
        self.httpd.app = self
        self.host = host
        self.port = self.httpd.server_address[1]
        url_host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        self.base_url = (public_url or f"http://{url_host}:{self.port}").rstrip("/")
        self.faults = Faults(self.seed, faults)
        self.webhooks = WebhookDispatcher(
            target,
            list(webhook_secrets),
            self.faults,
            max_attempts=webhook_max_attempts,
            timeout=webhook_timeout,
            backoff=webhook_backoff,
            backoff_max=webhook_backoff_max,
            workers=webhook_workers,
        )
        self.state = SandboxState(
            seed=self.seed,
            client_id=client_id,
            client_secret=client_secret,
            token_ttl=token_ttl,
            emit=self.webhooks.emit,
            base_url=self.base_url,
            restaurant=restaurant,
        )
        self.restaurant = self.state.restaurant
        self._stopping = threading.Event()  # wakes handlers that sleep for latency or a timeout fault
        self._serving = False
        self._thread: threading.Thread | None = None
        self._routes = self._build_routes()

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> "SandboxServer":
        """Serve in a background thread; answers self."""
        self._start_workers()
        self._serving = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), name="sandbox-http", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until stop() is called from another one."""
        self._start_workers()
        self._serving = True
        try:
            self.httpd.serve_forever(poll_interval=0.05)
        finally:
            self._stop_workers()

    def stop(self) -> None:
        self._stopping.set()
        if self._serving:  # shutdown() would wait forever for a loop that never ran
            self.httpd.shutdown()
            self._serving = False
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._stop_workers()

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _start_workers(self) -> None:
        self.restaurant.start()
        self.webhooks.start()

    def _stop_workers(self) -> None:
        self.webhooks.stop()
        self.restaurant.stop()

    # -- HTTP ------------------------------------------------------------------------------------------
    def handle(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        query = {key: values[-1] for key, values in parse_qs(split.query).items()}
        try:
            length = int(h.headers.get("Content-Length") or 0)
        except ValueError:
            length = MAX_BODY + 1
        if not 0 <= length <= MAX_BODY:
            h.close_connection = True
            self._send(h, 413, ApiError(413, "body_too_large", "The body is over 5 MiB.").body())
            return
        raw = h.rfile.read(length) if length else b""
        request = Request(h.command, split.path, query, h.headers, raw)
        route = self._match(request)
        if route is None:
            known = any(r.pattern.fullmatch(split.path) for r in self._routes)
            error = ApiError(405, "method_not_allowed", f"{h.command} is not allowed here.") if known else None
            error = error or ApiError(404, "not_found", f"No route for {h.command} {split.path}.")
            self._send(h, error.status, error.body())
            return
        if route.kind == "control":
            self._send(h, *self._run(route, request))
            return

        call = self.state.calls.record(request.method, request.path, query, h.headers, request.logged_body())
        key = f"{request.method} {request.path} {h.headers.get('Idempotency-Key') or ''}"
        fault = self.faults.for_call(key, token=route.kind == "token")
        if fault.reject:
            status, body, headers = fault.reject.status, fault.reject.body(), fault.reject.headers
        else:
            status, body, headers = self._run(route, request)
            if fault.hang_seconds:
                # The work is done (the order exists), but the client never hears about it.
                self.state.calls.finish(call, "timeout", "timeout")
                self._stopping.wait(fault.hang_seconds)
                h.close_connection = True
                return
        if fault.latency:
            self._stopping.wait(fault.latency)
        self.state.calls.finish(call, status, fault.reject_reason)
        self._send(h, status, body, headers)

    def _match(self, request: Request) -> Route | None:
        for route in self._routes:
            found = route.pattern.fullmatch(request.path)
            if found and route.method == request.method:
                request.params = {key: unquote(value) for key, value in found.groupdict().items()}
                return route
        return None

    def _run(self, route: Route, request: Request) -> tuple[int, object, dict]:
        try:
            if route.kind == "api":
                self.state.tokens.check(request.headers.get("Authorization"))
            status, body = route.handler(request, **request.params)
            return status, body, {}
        except ApiError as error:
            return error.status, error.body(), error.headers
        except Exception:
            logger.exception("sandbox handler for %s %s failed", request.method, request.path)
            return 500, ApiError(500, "internal_error", "The sandbox failed; see its log.").body(), {}

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body, headers: dict | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                h.send_header(name, value)
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    def _build_routes(self) -> list[Route]:
        s = self.state
        order, venue = r"(?P<order_id>[^/]+)", r"(?P<venue_id>[^/]+)"
        api = [
            ("POST", r"/oauth/token", self._token, "token"),
            ("POST", r"/v2/orders", lambda r: s.orders.create(r.headers.get("Idempotency-Key"), r.json()), "api"),
            ("GET", rf"/v2/orders/{order}", lambda r, order_id: s.orders.get(order_id), "api"),
            ("POST", rf"/v2/orders/{order}/cancel", lambda r, order_id: s.orders.cancel(order_id, r.json()), "api"),
            ("POST", rf"/v2/venues/{venue}/pause", lambda r, venue_id: s.venues.mp_pause(venue_id, r.json()), "api"),
            ("POST", rf"/v2/venues/{venue}/resume", lambda r, venue_id: s.venues.mp_resume(venue_id), "api"),
            ("GET", rf"/v2/venues/{venue}", lambda r, venue_id: s.venues.get(venue_id), "api"),
            ("GET", rf"/v2/venues/{venue}/menu", lambda r, venue_id: s.menus.current(venue_id), "api"),
            (
                "GET",
                r"/menus/(?P<menu_id>[^/]+)/v(?P<version>\d+)",
                lambda r, menu_id, version: s.menus.at(menu_id, int(version)),
                "api",
            ),
        ]
        control = [
            ("GET", r"/_sandbox/health", lambda r: (200, {"status": "ok", "seed": self.seed})),
            ("GET", r"/_sandbox/venues", lambda r: (200, s.venues.list())),
            ("GET", rf"/_sandbox/venues/{venue}", lambda r, venue_id: s.venues.inspect(venue_id)),
            ("POST", r"/_sandbox/venues", lambda r: s.venues.connect(r.json())),
            (
                "POST",
                rf"/_sandbox/venues/{venue}/disconnect",
                lambda r, venue_id: s.venues.disconnect(venue_id, r.json()),
            ),
            (
                "POST",
                rf"/_sandbox/venues/{venue}/pause",
                lambda r, venue_id: s.venues.restaurant_pause(venue_id, r.json()),
            ),
            ("POST", rf"/_sandbox/venues/{venue}/resume", lambda r, venue_id: s.venues.restaurant_resume(venue_id)),
            ("POST", rf"/_sandbox/venues/{venue}/menu", lambda r, venue_id: s.menus.publish(venue_id, r.json())),
            ("POST", rf"/_sandbox/venues/{venue}/menu/unpublish", lambda r, venue_id: s.menus.unpublish(venue_id)),
            (
                "POST",
                rf"/_sandbox/venues/{venue}/availability",
                lambda r, venue_id: s.menus.set_availability(venue_id, r.json()),
            ),
            (
                "GET",
                r"/_sandbox/orders",
                lambda r: (200, s.orders.list(r.query.get("venue_id"), r.query.get("status"))),
            ),
            (
                "POST",
                rf"/_sandbox/orders/{order}/advance",
                lambda r, order_id: s.orders.advance_by_hand(order_id, r.json()),
            ),
            ("POST", r"/_sandbox/events", lambda r: s.emit_event(r.json())),
            ("GET", r"/_sandbox/faults", lambda r: (200, self.faults.snapshot())),
            ("POST", r"/_sandbox/faults", self._set_faults),
            ("GET", r"/_sandbox/restaurant", lambda r: (200, self.restaurant.snapshot())),
            ("POST", r"/_sandbox/restaurant", lambda r: (200, self.restaurant.update(r.json()))),
            (
                "GET",
                r"/_sandbox/calls",
                lambda r: (200, s.calls.list(r.query.get("method"), r.query.get("path_prefix"))),
            ),
            (
                "GET",
                r"/_sandbox/webhooks",
                lambda r: (200, self.webhooks.report(r.query.get("type"), r.query.get("venue_id"))),
            ),
            ("GET", r"/_sandbox/quiet", lambda r: (200, self.quiet())),
            ("POST", r"/_sandbox/reset", self._reset),
        ]
        routes = [Route(method, re.compile(path), handler, kind) for method, path, handler, kind in api]
        routes += [Route(method, re.compile(path), handler, "control") for method, path, handler in control]
        return routes

    # -- handlers that are more than one call --------------------------------------------------------------
    def _token(self, request: Request) -> tuple[int, dict]:
        form = request.form()
        basic = None
        scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
                basic = (unquote(user), unquote(password))
            except (binascii.Error, UnicodeDecodeError):
                basic = ("", "")
        return self.state.tokens.issue(form, basic)

    def _set_faults(self, request: Request) -> tuple[int, dict]:
        """Partial update; ``{"revoke_tokens": true}`` is an action: every token issued so far dies."""
        changes = dict(request.json())
        revoke = changes.pop("revoke_tokens", False)
        settings = self.faults.update(changes)
        if revoke:
            settings = {**settings, "tokens_revoked": self.state.tokens.revoke_all()}
        return 200, settings

    def _reset(self, request: Request) -> tuple[int, dict]:
        """Forget venues, orders, menus, calls and webhooks. Settings stay unless ``faults``,
        ``restaurant`` is true; tokens stay valid unless ``tokens`` is true."""
        options = request.json()
        self.state.reset(tokens=bool(options.get("tokens")), restaurant_settings=bool(options.get("restaurant")))
        self.webhooks.clear()
        self.faults.reset(settings=bool(options.get("faults")))
        return 200, {"reset": True}

    def quiet(self) -> dict:
        """Quiet: no webhook queued, held or in flight and no restaurant timer left."""
        pending_webhooks, pending_timers = self.webhooks.pending(), self.restaurant.pending()
        return {
            "quiet": pending_webhooks == 0 and pending_timers == 0,
            "pending_webhooks": pending_webhooks,
            "pending_timers": pending_timers,
            "at": time.time(),
        }

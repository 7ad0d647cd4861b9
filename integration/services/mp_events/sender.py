"""The deliveries' HTTP side (issue 24): one asyncio loop in its own thread, one pooled keep-alive
``httpx.AsyncClient`` per endpoint host, and a wall-clock deadline on every try.

The dispatcher (``dispatch.py``) stays synchronous (Django's ORM) and hands it ``DeliveryTry``s; each try
runs as a task on the loop, inside ``asyncio.timeout(MP_WEBHOOK_TIMEOUT)`` around the connect, the request
and the read of the whole answer, so an endpoint that answers 200 and then drips a byte every few seconds
ends as a timeout at the deadline like one that never answers. Finished tries land on a thread-safe queue
the dispatcher reads. No database here.
"""

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from django.utils import timezone

from integration.http import RequestInfo, retry_after_seconds

RESPONSE_KEEP = 2000  # characters of an answer kept on the attempt
RESPONSE_READ_MAX = 64 * 1024  # an answer is read to its end or this many bytes, whichever comes first
USER_AGENT = "linkbridge-webhooks/1"
logger = logging.getLogger(__name__)


@dataclass
class DeliveryTry:
    """One claimed delivery, signed and ready to send; ``number`` is the attempt it is (the claim's token)."""

    call_id: int
    endpoint_id: int
    number: int
    url: str
    body: bytes
    headers: dict[str, str]
    request: RequestInfo
    event_at: datetime | None = None
    deadline: datetime | None = None


@dataclass
class TryOutcome:
    """How a try ended: a status (None: no answer), the answer's text, or an error code (``timeout``,
    ``connection_error``, ``url_not_allowed``); ``sent_at`` and ``seconds`` on ``time.monotonic()``'s clock."""

    job: DeliveryTry
    started_at: datetime
    sent_at: float
    seconds: float
    status_code: int | None = None
    text: str = ""
    error: str = ""
    message: str = ""
    retry_after: float | None = None
    finished_at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Sender:
    """Sends tries concurrently on a loop of its own; ``outcomes`` receives each as it ends."""

    def __init__(self, *, timeout: float, connect_timeout: float, max_connections: int):
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout, timeout)
        self.max_connections = max_connections
        self.outcomes: queue.Queue[TryOutcome] = queue.Queue()
        self.loop = asyncio.new_event_loop()
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.thread = threading.Thread(target=self.loop.run_forever, name="mp-deliveries-sender", daemon=True)
        self.thread.start()

    def submit(self, job: DeliveryTry) -> None:
        asyncio.run_coroutine_threadsafe(self._try(job), self.loop)

    def _client(self, origin: str) -> httpx.AsyncClient:
        client = self.clients.get(origin)
        if client is None:
            # Enough connections that a try never waits for one (the dispatcher's own cap is the limit); the
            # timeouts here are only a floor: the try's deadline is the asyncio.timeout around all of it.
            client = httpx.AsyncClient(
                base_url=origin,
                follow_redirects=False,
                trust_env=False,
                timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
                limits=httpx.Limits(max_connections=self.max_connections, max_keepalive_connections=64),
            )
            self.clients[origin] = client
        return client

    async def _try(self, job: DeliveryTry) -> None:
        started_at, t0 = timezone.now(), time.monotonic()
        outcome = TryOutcome(job, started_at, t0, 0.0)
        try:
            async with asyncio.timeout(self.timeout):
                await self._exchange(job, outcome)
        except TimeoutError:
            outcome.error, outcome.status_code = "timeout", None
            outcome.message = f"no whole answer within MP_WEBHOOK_TIMEOUT ({self.timeout:g} s)"
        except httpx.HTTPError as exc:
            outcome.error, outcome.status_code = "connection_error", None
            outcome.message = f"{type(exc).__name__}: {exc}"[:500]
        except Exception as exc:  # never lose a try's outcome: the dispatcher must settle the claim
            outcome.error, outcome.status_code = "connection_error", None
            outcome.message = f"{type(exc).__name__}: {exc}"[:500]
        outcome.seconds = time.monotonic() - t0
        outcome.finished_at = time.monotonic()
        self.outcomes.put(outcome)

    async def _exchange(self, job: DeliveryTry, outcome: TryOutcome) -> None:
        client = self._client(_origin(job.url))
        async with client.stream("POST", job.url, content=job.body, headers=job.headers) as response:
            kept, read = bytearray(), 0
            async for chunk in response.aiter_bytes():  # the whole answer, inside the deadline
                read += len(chunk)
                if len(kept) < RESPONSE_KEEP:
                    kept += chunk[: RESPONSE_KEEP - len(kept)]
                if read >= RESPONSE_READ_MAX:
                    break
            outcome.status_code = response.status_code
            outcome.text = bytes(kept).decode(errors="replace")
            outcome.retry_after = retry_after_seconds(response.headers.get("Retry-After"))

    def close(self) -> None:
        async def _close_all() -> None:
            for client in self.clients.values():
                await client.aclose()

        try:
            asyncio.run_coroutine_threadsafe(_close_all(), self.loop).result(timeout=5)
        except Exception:  # closing idle connections is best effort
            logger.warning("closing the deliveries' HTTP clients failed", exc_info=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()

"""The one hardened HTTP client for Link: OAuth token, timeouts, no redirects, error mapping."""

import json
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integration.http import (
    CallError,
    CallResponse,
    PermanentCallError,
    RequestInfo,
    RetriableCallError,
    retry_after_seconds,
)

from . import routes

logger = logging.getLogger("integration.link")

REDACTED = "***"
# A body requests can send as JSON.
JsonBody: TypeAlias = bool | int | float | str | Sequence["JsonBody"] | Mapping[str, "JsonBody"] | None
SENSITIVE_HEADERS = {"authorization", "cookie", "proxy-authorization"}


def redact_headers(headers: dict) -> dict:
    return {k: (REDACTED if k.lower() in SENSITIVE_HEADERS else v) for k, v in headers.items()}


# Link's names for the outbox's neutral types (``integration.http``): the client answers with them.
LinkResponse = CallResponse
LinkError = CallError
RetriableError = RetriableCallError
PermanentError = PermanentCallError


def _error_code(content: bytes, fallback: str, reason: str = "") -> tuple[str, str]:
    """Link's ``{"error": {"code", "message"}}`` (or OAuth's ``{"error": "...", "error_description"}``)."""
    try:
        body = json.loads(content)
    except ValueError:
        return fallback, reason or fallback
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return str(err.get("code") or fallback), str(err.get("message") or "")
    if isinstance(err, str):
        return err, str(body.get("error_description", ""))
    return fallback, reason or fallback


class TokenProvider:
    """One OAuth token shared by every thread and process, refreshed shortly before expiry.

    The token lives in the ``LinkToken`` row so that many workers share it; a per-process memo
    avoids a query per call, and a row lock (plus a thread lock) makes one fetch serve everyone.
    """

    def __init__(self, client: "LinkClient"):
        self.client = client
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at: float = 0.0

    def get(self) -> str:
        if self._token and time.time() < self._refresh_at:
            return self._token
        with self._lock:
            if self._token and time.time() < self._refresh_at:
                return self._token
            self._token, self._refresh_at = self._shared_or_fetch(stale=self._token)
            return self._token

    def invalidate(self, token: str) -> None:
        from integration.models import LinkToken

        with self._lock:
            if self._token == token:
                self._token, self._refresh_at = None, 0.0
        LinkToken.objects.filter(access_token=token).update(access_token="", expires_at=None)

    def _shared_or_fetch(self, stale: str | None) -> tuple[str, float]:
        from integration.models import LinkToken

        LinkToken.objects.get_or_create(name="default")
        with transaction.atomic():
            row = LinkToken.objects.select_for_update().get(name="default")
            if row.access_token and row.access_token != stale and row.expires_at and row.expires_at > timezone.now():
                return row.access_token, row.expires_at.timestamp()
            token, lifetime = self.client.fetch_token()
            margin = min(60.0, lifetime / 10)
            row.access_token = token
            row.fetched_at = timezone.now()
            row.expires_at = row.fetched_at + timedelta(seconds=lifetime - margin)
            row.save()
            return token, row.expires_at.timestamp()


class LinkClient:
    def __init__(self, base_url: str | None = None, client_id: str | None = None, client_secret: str | None = None):
        self.base_url = (base_url or settings.LINK_BASE_URL).rstrip("/")
        self.client_id = client_id or settings.LINK_CLIENT_ID
        self.client_secret = client_secret or settings.LINK_CLIENT_SECRET
        self.timeout = (settings.LINK_CONNECT_TIMEOUT, settings.LINK_READ_TIMEOUT)
        self.tokens = TokenProvider(self)
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False
        return session

    def url(self, path: str) -> str:
        return path if urlsplit(path).scheme else f"{self.base_url}{path}"

    def fetch_token(self) -> tuple[str, float]:
        url = self.url(routes.TOKEN)
        try:
            resp = self.session.post(
                url,
                data=routes.token_request(self.client_id, self.client_secret),
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise RetriableError("token_timeout", "Link's token endpoint did not answer in time.") from exc
        except requests.RequestException as exc:
            raise RetriableError(
                "token_connection", f"Cannot reach Link's token endpoint: {type(exc).__name__}"
            ) from exc
        logger.info("link token request -> %s", resp.status_code)
        if resp.status_code >= 500 or resp.status_code == 429:
            raise RetriableError(
                "token_unavailable",
                f"Token endpoint answered {resp.status_code}.",
                status_code=resp.status_code,
                retry_after=retry_after_seconds(resp.headers.get("Retry-After")),
            )
        if resp.status_code != 200:
            code, message = _error_code(resp.content, "invalid_client", resp.reason)
            raise PermanentError(
                code,
                f"Link refused our client credentials ({message}). Check LINK_CLIENT_ID and LINK_CLIENT_SECRET.",
                status_code=resp.status_code,
            )
        try:
            return routes.parse_token(resp.json())
        except (ValueError, KeyError, TypeError) as exc:
            raise RetriableError("token_malformed", "Token endpoint answered without a usable token.") from exc

    def request(
        self,
        method: str,
        path: str,
        *,
        json: JsonBody = None,
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> LinkResponse:
        """Send one authenticated call; a 401 fetches a fresh token once and repeats the call."""
        token = self.tokens.get()
        try:
            return self._send(method, path, token, payload=json, headers=headers, max_bytes=max_bytes)
        except PermanentError as exc:
            if exc.status_code != 401:
                raise
            logger.info("link %s %s -> 401, refreshing the token once", method, path)
            self.tokens.invalidate(token)
            return self._send(method, path, self.tokens.get(), payload=json, headers=headers, max_bytes=max_bytes)

    def _send(
        self,
        method: str,
        path: str,
        token: str,
        *,
        payload: JsonBody,
        headers: dict[str, str] | None,
        max_bytes: int | None,
    ) -> LinkResponse:
        url = self.url(path)
        all_headers = {"Accept": "application/json", "Authorization": f"Bearer {token}", **(headers or {})}
        request_info: RequestInfo = {"method": method, "url": url, "headers": redact_headers(all_headers)}
        started = time.monotonic()
        try:
            resp = self.session.request(
                method, url, json=payload, headers=all_headers, timeout=self.timeout, allow_redirects=False, stream=True
            )
            content = self._read(resp, max_bytes, request_info, started + settings.LINK_RESPONSE_DEADLINE)
        except (requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
            raise RetriableError(
                "timeout", f"Link did not answer within {self.timeout[1]}s.", request=request_info
            ) from exc
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise RetriableError(
                "connection", f"Cannot reach Link: {type(exc).__name__}.", request=request_info
            ) from exc
        logger.info("link %s %s -> %s in %.0f ms", method, path, resp.status_code, (time.monotonic() - started) * 1000)
        text = content.decode("utf-8", errors="replace")
        status = resp.status_code
        if 200 <= status < 300:
            try:
                data = json.loads(content) if content else None
            except (ValueError, RecursionError) as exc:
                raise PermanentError(
                    "malformed_response",
                    "Link answered with a body that is not JSON (or nests too deep to read).",
                    status_code=status,
                    body=text,
                    request=request_info,
                ) from exc
            return LinkResponse(status, data, text, request_info)
        code, message = _error_code(content, f"http_{status}", resp.reason)
        kwargs: dict[str, Any] = {"status_code": status, "body": text, "request": request_info}
        if status >= 500 or status == 429:
            raise RetriableError(
                code,
                message or f"Link answered {status}.",
                retry_after=retry_after_seconds(resp.headers.get("Retry-After")),
                **kwargs,
            )
        if 300 <= status < 400:
            raise PermanentError(
                "redirect_refused",
                f"Link answered {status} to {resp.headers.get('Location')}; redirects are not followed.",
                **kwargs,
            )
        raise PermanentError(code, message or f"Link answered {status}.", **kwargs)

    @staticmethod
    def _read(resp: requests.Response, max_bytes: int | None, request_info: RequestInfo, deadline: float) -> bytes:
        """The body, within ``max_bytes`` and by ``deadline`` (one for the whole body: a host that drips
        a byte now and then never trips a per-read timeout)."""
        declared = resp.headers.get("Content-Length")
        if max_bytes and declared and declared.isdigit() and int(declared) > max_bytes:
            resp.close()
            raise PermanentError(
                "too_large",
                f"Body of {declared} bytes is over the {max_bytes}-byte cap.",
                status_code=resp.status_code,
                request=request_info,
            )
        chunks, size = [], 0
        while chunk := resp.raw.read1(65536, decode_content=True):  # returns after one read of the socket
            if time.monotonic() > deadline:
                resp.close()
                raise RetriableError(
                    "timeout",
                    f"Link's answer took over {settings.LINK_RESPONSE_DEADLINE:g}s to arrive in full.",
                    status_code=resp.status_code,
                    request=request_info,
                )
            size += len(chunk)
            if max_bytes and size > max_bytes:
                resp.close()
                raise PermanentError(
                    "too_large",
                    f"Body is over the {max_bytes}-byte cap.",
                    status_code=resp.status_code,
                    request=request_info,
                )
            chunks.append(chunk)
        return b"".join(chunks)


_client: LinkClient | None = None
_client_lock = threading.Lock()


def get_client() -> LinkClient:
    """The process-wide client, so its token memo and connection pool are shared."""
    global _client
    with _client_lock:
        if _client is None or _client.base_url != settings.LINK_BASE_URL.rstrip("/"):
            _client = LinkClient()
        return _client


def reset_client() -> None:
    global _client
    with _client_lock:
        _client = None

"""The ids that tie a story together in the logs (request, Link event, order, call, venue).

A block runs inside ``log_context(event_id=..., ...)``; every record logged inside it carries those
ids as attributes (``ContextFilter`` on the handler), so ``LOG_FORMAT=json`` prints them as fields.
Context variables are per thread and per task, so gunicorn's threads never mix their ids.
"""

import contextlib
import contextvars
import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

FIELDS = ("request_id", "event_id", "external_order_id", "call_id", "venue_id")
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

_ids: contextvars.ContextVar[dict] = contextvars.ContextVar("linkbridge_log_ids", default={})  # noqa: B039 (never mutated)


def _kept(ids: dict) -> dict:
    return {name: value for name, value in ids.items() if value not in (None, "")}


@contextlib.contextmanager
def log_context(**ids):
    token = _ids.set({**_ids.get(), **_kept(ids)})
    try:
        yield
    finally:
        _ids.reset(token)


def bind(**ids) -> None:
    """Add ids to the current block (e.g. an order's id once it exists); its ``log_context`` undoes them."""
    _ids.set({**_ids.get(), **_kept(ids)})


def call_log_ids(call_id: int) -> dict:
    """A call's own id with its order's and venue's (one query)."""
    from integration.models import OutboundCall

    row: Mapping[str, Any] = (
        OutboundCall.objects.filter(pk=call_id)
        .values("order__external_order_id", "store__venue_id", "order__store__venue_id")
        .first()
        or {}
    )
    return {
        "call_id": call_id,
        "external_order_id": row.get("order__external_order_id"),
        "venue_id": row.get("store__venue_id") or row.get("order__store__venue_id"),
    }


def current() -> dict:
    return dict(_ids.get())


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _ids.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def request_id_from(header: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is a sane token, else a new one."""
    if header and _VALID_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Every request logs under its request id, and the answer carries it back in ``X-Request-ID``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        with log_context(request_id=request_id):
            response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response

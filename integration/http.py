"""The outbox's vocabulary for one HTTP try, whoever it is to: a ``CallResponse`` or a ``CallError``.

Every sender (Link's client, the MP webhook deliveries) answers a try with a ``CallResponse`` (2xx) or
raises a ``CallError``: ``RetriableCallError`` (5xx, 429, timeout, no connection: worth trying again)
or ``PermanentCallError`` (trying again will not help). The outbox records, settles and retries calls
from these alone; ``retry_after_seconds`` reads the ``Retry-After`` of an answer for every sender.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

# The request as an attempt records it: method, url and redacted headers.
RequestInfo = dict[str, Any]


@dataclass
class CallResponse:
    """A 2xx answer: its status, the decoded JSON body (None when the sender does not read one) and text."""

    status_code: int
    data: dict | list | None
    text: str
    request: RequestInfo = field(default_factory=dict)


class CallError(Exception):
    """A try did not succeed. ``retriable`` decides whether the outbox tries again."""

    retriable = False

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int | None = None,
        body: str = "",
        retry_after: float | None = None,
        request: RequestInfo | None = None,
    ):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status_code = status_code
        self.body = body
        self.retry_after = retry_after
        self.request: RequestInfo = request or {}


class RetriableCallError(CallError):
    """5xx, 429, timeout, connection error: worth trying again later."""

    retriable = True


class PermanentCallError(CallError):
    """Any other 4xx, a redirect, an oversize or unreadable body, a refused URL: trying again will not help."""


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header as seconds from ``now``: delta-seconds or an HTTP-date (RFC 9110 10.2.3).

    Never negative (a date in the past is 0); None when absent or unreadable (garbage, or a value that is
    not a finite number), so the caller's own backoff applies.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    seconds: float | None
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value, now)
    if seconds is None or not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _seconds_until(http_date: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": HTTP dates are always GMT
        when = when.replace(tzinfo=UTC)
    return (when - (now or datetime.now(UTC))).total_seconds()

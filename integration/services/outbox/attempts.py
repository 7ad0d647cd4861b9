"""One try of an outbound call as it is recorded: a ``CallAttempt`` with the request (redacted
headers), the answer (truncated) and its duration, committed before the answer is applied; and what
a try whose answer could not be applied leaves on the attempt and the call."""

import json
from datetime import datetime, timedelta

from django.utils import timezone

from integration.http import CallError, CallResponse
from integration.models import CallAttempt, OutboundCall
from integration.text import json_problem

RESPONSE_BODY_LIMIT = 4000
STORED_RESPONSE_LIMIT = 8000


def truncate(text: str, limit: int = RESPONSE_BODY_LIMIT) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... [{len(text) - limit} more characters]"


def stored_response(response: CallResponse) -> dict | list | None:
    return (
        _jsonb_safe(response.data)
        if len(response.text) <= STORED_RESPONSE_LIMIT
        else {"truncated": True, "bytes": len(response.text)}
    )


def attempt_record(
    call: OutboundCall,
    response: CallResponse | None,
    error: CallError | None,
    started_at: datetime,
    duration_ms: int,
) -> CallAttempt:
    """Commit one try: ``response`` for an answer, else the ``error`` it raised."""
    status_code: int | None
    if error is None:
        assert response is not None  # a try ends in an answer or an error
        outcome, request_info = CallAttempt.Outcome.SUCCESS, response.request
        status_code, body = response.status_code, response.text
    else:
        outcome = CallAttempt.Outcome.RETRIABLE if error.retriable else CallAttempt.Outcome.PERMANENT
        request_info, status_code, body = error.request, error.status_code, error.body
    return CallAttempt.objects.create(
        call=call,
        number=call.attempts,
        started_at=started_at,
        duration_ms=duration_ms,
        request_method=call.method,
        request_url=request_info.get("url", call.path)[:2000],
        request_headers=request_info.get("headers", {}),
        request_body=truncate(json.dumps(call.payload)) if call.payload is not None else "",
        status_code=status_code,
        response_body=truncate(body),
        outcome=outcome,
        error="" if error is None else str(error),
    )


def attempt_apply_failed(call: OutboundCall, attempt: CallAttempt, exc: Exception, *, retry_in: float) -> None:
    """A handler raised: say so on the attempt and the call, which stays pending for a later try."""
    reason = truncate(f"applying the answer failed: {exc!r}")
    attempt.error = f"{attempt.error}; {reason}" if attempt.error else reason
    attempt.save(update_fields=["error"])
    now = timezone.now()
    OutboundCall.objects.filter(pk=call.pk, status=OutboundCall.Status.PENDING).update(
        last_status_code=attempt.status_code,
        last_error=reason,
        claimed_until=None,
        next_attempt_at=now + timedelta(seconds=retry_in),
        updated_at=now,
    )


def _jsonb_safe(data):
    """``data``, or a note in its place when jsonb cannot hold it (a NUL or a lone surrogate in a string):
    the handler may refuse such an answer, and the call that records the refusal must still save."""
    why = json_problem(data)
    return data if why is None else {"not_stored": f"a string in the answer {why}"}

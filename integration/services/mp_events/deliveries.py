"""Delivering events to MP webhook endpoints (Standard Webhooks), as outbox rows of kind ``deliver_event``.

Each try is signed afresh with ``standardwebhooks`` (every secret still valid: the current one and, during a
rotation's overlap, the previous) and posted by the dispatcher (``dispatch.py``: batches claimed with
``FOR UPDATE SKIP LOCKED``, sent concurrently by asyncio and httpx with a wall-clock deadline per try,
recorded in bulk), never Link's client nor its circuit. The answer: 2xx delivered, 410 disables the
endpoint, anything else or no whole answer within ``MP_WEBHOOK_TIMEOUT`` is tried again until
``MP_WEBHOOK_DEADLINE``.

Deliveries run on their own django-q2 cluster (``MP_WEBHOOK_CLUSTER``): a committed delivery asks it for a
dispatcher (``delivery_enqueue``, throttled: one is usually running and hands over to a fresh one before
django-q2's task timeout), and the every-minute sweep does too (``deliveries_sweep``).
"""

import json
import time
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from standardwebhooks import Webhook

from integration import metrics
from integration.http import CallResponse, PermanentCallError
from integration.models import NotificationEvent, OutboundCall, WebhookEndpoint
from integration.services.mp_events.endpoints import endpoint_disable, endpoint_secrets
from integration.services.mp_events.events import event_body
from integration.services.mp_events.sender import USER_AGENT
from integration.services.outbox.kinds import CallKind
from integration.services.outbox.workers import task_enqueue


def delivery_request(
    endpoint: WebhookEndpoint, event: NotificationEvent, now: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and Standard Webhooks headers of one try (signed afresh each try, as the spec wants)."""
    now = now or timezone.now()
    body = json.dumps(event_body(event), separators=(",", ":"))
    signatures = " ".join(Webhook(s).sign(event.event_id, now, body) for s in endpoint_secrets(endpoint, now))
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
    }
    return body.encode(), headers


def _endpoint_id(call: OutboundCall) -> int:
    """A delivery's endpoint (the column is nullable: calls to Link have none; a delivery always has one)."""
    assert call.endpoint_id is not None
    return call.endpoint_id


def _event_id(call: OutboundCall) -> int:
    """A delivery's event (nullable for calls to Link, like ``endpoint``)."""
    assert call.event_id is not None
    return call.event_id


def _streak_start(endpoint: WebhookEndpoint) -> None:
    """A failed try starts the endpoint's failure streak, unless one is running (a 2xx ends it)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=timezone.now())


def delivery_send(call: OutboundCall, kind: CallKind | None = None) -> CallResponse:
    """The kind's sender for the outbox's generic loop, which never runs deliveries (their kind has workers of its
    own): the dispatcher sends them. Refused, so a delivery can never be sent outside its endpoint's window."""
    raise PermanentCallError("not_here", "deliveries are sent by the deliveries' dispatcher (dispatch.py)")


def delivery_channel(call: OutboundCall) -> str:
    return f"mp-webhook-endpoint-{call.endpoint_id}"


def delivery_retry_refusal(call: OutboundCall) -> str | None:
    enabled = WebhookEndpoint.objects.filter(pk=_endpoint_id(call)).values_list("enabled", flat=True).first()
    return None if enabled else "its endpoint is disabled: re-enable the endpoint first (the event feed has it too)."


def delivery_succeeded(call: OutboundCall, response: CallResponse) -> None:
    WebhookEndpoint.objects.filter(pk=_endpoint_id(call)).update(failing_since=None, last_success_at=timezone.now())
    event_at = NotificationEvent.objects.filter(pk=_event_id(call)).values_list("timestamp", flat=True).first()
    if event_at is not None:
        metrics.on_commit(metrics.mp_event_delivered, event_at)


def delivery_failed(call: OutboundCall, reason: str) -> None:
    """Settled FAILED: 410 Gone disables the endpoint at once (other failures count in its streak)."""
    if call.last_status_code == 410:
        event_id = NotificationEvent.objects.filter(pk=_event_id(call)).values_list("event_id", flat=True).first()
        endpoint_disable(
            WebhookEndpoint.objects.get(pk=_endpoint_id(call)), reason=f"answered 410 Gone to {event_id}", auto=True
        )


# --- asking for a dispatcher -----------------------------------------------------------------------

_last_kick = 0.0
KICK_EVERY = 1.0  # seconds: a process asks for a dispatcher at most this often (one is usually running)


def deliveries_kick(*, force: bool = False) -> bool:
    """Ask the deliveries' cluster for a dispatcher (it ends at once when ``MP_WEBHOOK_DISPATCHERS`` already run).
    Throttled per process, so a burst of events asks once. Returns whether it asked."""
    global _last_kick
    now = time.monotonic()
    if not force and now - _last_kick < KICK_EVERY:
        return False
    _last_kick = now
    return task_enqueue(
        "integration.tasks.dispatch_deliveries", name="dispatch-deliveries", cluster=settings.MP_WEBHOOK_CLUSTER
    )


def delivery_enqueue(call_id: int) -> None:
    """A delivery committed (or ops asked to retry one): make sure a dispatcher is there to claim it."""
    deliveries_kick()


def deliveries_sweep() -> int:
    """Every minute: the number of deliveries due; if any, ask for a dispatcher (a lost message, a broken
    hand-over or a dead worker loses nothing: leases run out and the rows are claimed again)."""
    now = timezone.now()
    due = (
        OutboundCall.objects.filter(kind=OutboundCall.Kind.DELIVER_EVENT, status=OutboundCall.Status.PENDING)
        .filter(next_attempt_at__lte=now)
        .exclude(claimed_until__gt=now)
        .count()
    )
    if due:
        deliveries_kick(force=True)
    return due

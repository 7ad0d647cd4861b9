"""Delivering events to MP webhook endpoints (Standard Webhooks), as outbox rows of kind ``deliver_event``.

The sender signs each try afresh with ``standardwebhooks`` (every secret still valid: the current
one and, during a rotation's overlap, the previous), posts with its own HTTP session (own timeouts,
no redirects, never Link's client nor its circuit) and maps the answer: 2xx delivered, 410 disables
the endpoint, anything else or no answer is tried again until ``MP_WEBHOOK_DEADLINE``.

Deliveries run on their own django-q2 cluster (``MP_WEBHOOK_CLUSTER``), so no endpoint ever holds a
worker that calls to Link need; and each endpoint has a budget of ``MP_WEBHOOK_CONCURRENCY`` tries
in flight (a worker waiting out a short backoff keeps its place), so one slow endpoint holds at most
that many of those workers. An endpoint whose last try failed (``failing_since``) gets one place, and
failing endpoints together at most ``MP_WEBHOOK_FAILING_PLACES``: however many are dead, the
healthy ones keep the other workers. A delivery turned away waits for the sweep.
"""

import json
import time
from datetime import datetime, timedelta
from functools import partial

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from standardwebhooks import Webhook

from integration import metrics
from integration.http import CallResponse, PermanentCallError, RequestInfo, RetriableCallError, retry_after_seconds
from integration.link import routes
from integration.locks import advisory_xact_lock
from integration.models import CallAttempt, NotificationEvent, OutboundCall, WebhookEndpoint
from integration.services.mp_events.endpoints import endpoint_disable, endpoint_secrets
from integration.services.mp_events.events import event_body
from integration.services.outbox import calls as outbound
from integration.services.outbox.calls import call_claim, call_send
from integration.services.outbox.kinds import CallKind
from integration.services.outbox.workers import WorkerBudget, task_enqueue

RESPONSE_KEEP = 2000
_FAILING_PLACES_LOCK = 0x6C62_6670  # any distinct key: the pool of places failing endpoints share
USER_AGENT = "linkbridge-webhooks/1"
_session = requests.Session()


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
    """One try of a delivery: a ``CallResponse`` for a 2xx, else a ``CallError`` the outbox settles."""
    endpoint = WebhookEndpoint.objects.get(pk=_endpoint_id(call))
    event = NotificationEvent.objects.get(pk=_event_id(call))
    body, headers = delivery_request(endpoint, event)
    info: RequestInfo = {"url": endpoint.url, "headers": {k: v for k, v in headers.items() if k != "webhook-signature"}}
    allowed, why = routes.host_allowed(endpoint.url, settings.MP_WEBHOOK_HOSTS, "MP_WEBHOOK_HOSTS")
    if not allowed:
        raise PermanentCallError("url_not_allowed", why, request=info)
    timeout = (settings.MP_WEBHOOK_CONNECT_TIMEOUT, settings.MP_WEBHOOK_READ_TIMEOUT)
    try:
        with _session.post(
            endpoint.url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
        ) as response:
            text = response.raw.read(RESPONSE_KEEP, decode_content=True).decode(errors="replace")
    except requests.Timeout as exc:
        _streak_start(endpoint)
        raise RetriableCallError("timeout", f"no answer in time: {exc}", request=info) from exc
    except requests.RequestException as exc:
        _streak_start(endpoint)
        raise RetriableCallError("connection_error", str(exc), request=info) from exc
    status = response.status_code
    if 200 <= status < 300:
        return CallResponse(status, None, text, request=info)
    _streak_start(endpoint)
    if status == 410:
        raise PermanentCallError("gone", "the endpoint answered 410 Gone", status_code=status, body=text, request=info)
    raise RetriableCallError(
        f"http_{status}",
        f"the endpoint answered {status}",
        status_code=status,
        body=text,
        retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        request=info,
    )


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


# --- the endpoint's budget ---------------------------------------------------------------------


def _in_flight(now):
    return OutboundCall.objects.filter(
        kind=OutboundCall.Kind.DELIVER_EVENT, status=OutboundCall.Status.PENDING, claimed_until__gt=now
    )


def _held(endpoint_id: int, now):
    return _in_flight(now).filter(endpoint_id=endpoint_id)


def _held_by_failing(now):
    return _in_flight(now).filter(endpoint__failing_since__isnull=False)


def _place_free(endpoint_id: int, now) -> bool:
    """Whether the endpoint may have one more try in flight; in a transaction (it locks the endpoint's row,
    and failing endpoints' claims are serialised while they count their shared places)."""
    endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).only("failing_since").first()
    if endpoint is None:
        return False
    if endpoint.failing_since is None:
        return _held(endpoint_id, now).count() < settings.MP_WEBHOOK_CONCURRENCY
    advisory_xact_lock(_FAILING_PLACES_LOCK)  # failing endpoints' claims lock different rows: take turns counting
    return not _held(endpoint_id, now).exists() and _held_by_failing(now).count() < settings.MP_WEBHOOK_FAILING_PLACES


def delivery_claim(call_id: int) -> OutboundCall | None:
    """Claim a delivery if its endpoint has a free place."""
    endpoint_id = OutboundCall.objects.filter(pk=call_id).values_list("endpoint_id", flat=True).first()
    if endpoint_id is None:
        return None
    with transaction.atomic():
        if not _place_free(endpoint_id, timezone.now()):
            return None
        return call_claim(call_id)


def _unheld_due(now):
    return OutboundCall.objects.filter(
        kind=OutboundCall.Kind.DELIVER_EVENT, status=OutboundCall.Status.PENDING, next_attempt_at__lte=now
    ).exclude(claimed_until__gt=now)


def _due(now):
    """Deliveries due now that no worker holds, oldest first."""
    return _unheld_due(now).order_by("next_attempt_at", "pk").values_list("pk", flat=True)


def _enqueue_waiting(endpoint_id: int) -> None:
    """A place came free: hand the endpoint's next due deliveries to the workers (after this commits)."""
    for pk in _due(timezone.now()).filter(endpoint_id=endpoint_id)[: settings.MP_WEBHOOK_CONCURRENCY]:
        transaction.on_commit(partial(outbound.call_enqueue, pk, OutboundCall.Kind.DELIVER_EVENT))


def delivery_enqueue(call_id: int) -> None:
    """To the deliveries' own cluster: a slow endpoint never holds a worker that calls to Link need."""
    task_enqueue(
        "integration.tasks.deliver_event", call_id, name=f"deliver-event-{call_id}", cluster=settings.MP_WEBHOOK_CLUSTER
    )


def _next_for(endpoint_id: int) -> OutboundCall | None:
    """Claim the endpoint's next due delivery for this worker (it keeps its place)."""
    for pk in _due(timezone.now()).filter(endpoint_id=endpoint_id)[:3]:
        call = delivery_claim(pk)
        if call is not None:
            return call
    return None


def delivery_deliver(call_id: int) -> int:
    """Send a delivery, then the endpoint's next due ones, while this task's time lasts.

    A short backoff is waited out in the endpoint's place (a failing endpoint keeps to its budget);
    a longer one is left to the sweep. Returns the number of tries made.
    """
    budget = WorkerBudget.start(settings.MP_WEBHOOK_CONNECT_TIMEOUT + settings.MP_WEBHOOK_READ_TIMEOUT)
    tries = 0
    call = delivery_claim(call_id)
    while call is not None:
        tries += 1
        endpoint_id = _endpoint_id(call)
        if call_send(call) == CallAttempt.Outcome.RETRIABLE:
            call.refresh_from_db(fields=["status", "next_attempt_at"])
            wait = max(0.0, (call.next_attempt_at - timezone.now()).total_seconds())
            if call.status == OutboundCall.Status.PENDING and wait <= settings.MP_WEBHOOK_RETRY_INLINE_MAX:
                if not budget.allows(wait):
                    outbound.call_enqueue(call.pk, OutboundCall.Kind.DELIVER_EVENT)
                    return tries
                call = _wait_in_place(call, wait)
                continue
        if not budget.allows():
            _enqueue_waiting(endpoint_id)
            return tries
        call = _next_for(endpoint_id)
    return tries


def _wait_in_place(call: OutboundCall, wait: float) -> OutboundCall | None:
    """Wait out a short backoff in the endpoint's place if its budget still has one (it may have started
    failing since the claim, and so shrunk); else the worker goes, and the sweep sends the retry when due."""
    hold = timezone.now() + timedelta(seconds=wait + settings.MP_WEBHOOK_CLAIM_LEASE)
    with transaction.atomic():
        if not _place_free(_endpoint_id(call), timezone.now()):
            return None
        OutboundCall.objects.filter(pk=call.pk, status=OutboundCall.Status.PENDING).update(claimed_until=hold)
    time.sleep(wait)
    OutboundCall.objects.filter(pk=call.pk, claimed_until=hold).update(claimed_until=None)
    return call_claim(call.pk)


def deliveries_sweep(limit: int = 500) -> int:
    """Due deliveries nobody holds go to the webhook workers (a lost message or a dead worker loses nothing):
    each endpoint's oldest few, its budget (the worker that claims one goes on with that endpoint's next),
    so a dead endpoint's backlog, due and turned away again and again, never crowds out another's."""
    place = Window(RowNumber(), partition_by=[F("endpoint_id")], order_by=[F("next_attempt_at").asc(), F("pk").asc()])
    due = list(
        _unheld_due(timezone.now())
        .annotate(place=place)
        .filter(place__lte=settings.MP_WEBHOOK_CONCURRENCY)
        .order_by("place", "next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        outbound.call_enqueue(pk, OutboundCall.Kind.DELIVER_EVENT)
    return len(due)

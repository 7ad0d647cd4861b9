"""The deliveries' dispatcher (issue 24): claim due deliveries in batches, send them concurrently, record
them in bulk.

A dispatcher is one task on the deliveries' own django-q2 cluster holding one of ``MP_WEBHOOK_DISPATCHERS``
slots (a session advisory lock: a dead worker's slot frees with its connection). In rounds, it

1. records the tries that ended since the last round, all in one transaction (``deliveries_record``:
   ``bulk_create`` of the attempts, one ``UPDATE ... FROM unnest(...)`` of the deliveries, one update per streak
   change);
2. claims what each endpoint's window has room for (``deliveries_claim``: per endpoint, its oldest due
   deliveries, ``FOR UPDATE SKIP LOCKED`` and leased for ``MP_WEBHOOK_CLAIM_LEASE``; across endpoints round
   robin, the first of every endpoint before the second of any), signs them and hands them to the sender
   (``sender.py``: asyncio, httpx, a wall-clock deadline per try).

Each endpoint's window (``window.py``, AIMD) grows while it answers fast and halves when it slows or
fails, so a slow, dead or flooded endpoint holds a few places of this dispatcher and never its other
endpoints' claims. The run stops claiming ``MP_WEBHOOK_TIMEOUT`` before its budget (a share of django-q2's
task timeout) ends, waits for its tries (each ends by its deadline), records them and hands over to a
fresh run: nothing depends on the task timeout to end. A delivery claimed by a dispatcher that dies is
claimed again once its lease runs out; a try recorded after its delivery was claimed again or settled
meanwhile is kept as an attempt and changes nothing else (``number`` is the claim's token).
"""

import contextlib
import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from integration import metrics
from integration.http import RequestInfo
from integration.link import routes
from integration.models import CallAttempt, NotificationEvent, OutboundCall, WebhookEndpoint
from integration.services.mp_events.deliveries import deliveries_kick, delivery_request
from integration.services.mp_events.endpoints import endpoint_disable
from integration.services.mp_events.sender import DeliveryTry, Sender, TryOutcome
from integration.services.mp_events.window import EndpointWindow
from integration.services.outbox import backlog
from integration.services.outbox.attempts import truncate
from integration.services.outbox.calls import call_backoff
from integration.services.outbox.workers import TASK_TIMEOUT_SHARE

logger = logging.getLogger(__name__)

# After the first try of a round ends, wait this long for others to end with it: bigger batches, fewer statements.
LINGER = 0.01
_SECOND = timedelta(seconds=1)
_SLOT_LOCK = 0x6C62_6470  # any distinct key: with a slot number, one running dispatcher
S = OutboundCall.Status
KIND = OutboundCall.Kind.DELIVER_EVENT

_CLAIM_SQL = """
WITH free(endpoint_id, n) AS (SELECT * FROM unnest(%(endpoints)s::bigint[], %(free)s::int[])),
picked AS (
    SELECT d.id, d.next_attempt_at,
           row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.id) AS place
    FROM integration_webhookendpoint e
    LEFT JOIN free f ON f.endpoint_id = e.id
    CROSS JOIN LATERAL (
        SELECT c.id, c.endpoint_id, c.next_attempt_at FROM integration_outboundcall c
        WHERE c.endpoint_id = e.id AND c.kind = 'deliver_event' AND c.status = 'PENDING'
          AND c.next_attempt_at <= %(now)s AND (c.claimed_until IS NULL OR c.claimed_until < %(now)s)
        ORDER BY c.next_attempt_at, c.id
        LIMIT (CASE WHEN f.n IS NOT NULL THEN f.n WHEN e.failing_since IS NULL THEN %(initial)s ELSE 1 END)
        FOR UPDATE OF c SKIP LOCKED
    ) d
    WHERE e.enabled
),
chosen AS (SELECT id FROM picked ORDER BY place, next_attempt_at, id LIMIT %(batch)s)
UPDATE integration_outboundcall o
SET claimed_until = %(lease)s, attempts = o.attempts + 1, updated_at = %(now)s
FROM chosen WHERE o.id = chosen.id
RETURNING o.id, o.endpoint_id, o.event_id, o.attempts, o.deadline
"""


@dataclass
class Claimed:
    call_id: int
    endpoint_id: int
    event_id: int
    number: int
    deadline: datetime


def deliveries_claim(free: dict[int, int], limit: int, now: datetime | None = None) -> list[Claimed]:
    """Lease due deliveries: at most ``free[endpoint]`` of an endpoint's (one it is not in: ``MP_WEBHOOK_CONCURRENCY``,
    1 if failing), its oldest first, ``limit`` in all, round robin across endpoints. One statement."""
    if limit <= 0:
        return []
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.MP_WEBHOOK_CLAIM_LEASE)
    if connection.vendor == "postgresql":
        params = {
            "endpoints": list(free),
            "free": [max(0, n) for n in free.values()],
            "now": now,
            "initial": settings.MP_WEBHOOK_CONCURRENCY,
            "batch": limit,
            "lease": lease,
        }
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, params)
            rows = cursor.fetchall()
    else:
        rows = _claim_portable(free, limit, now, lease)
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.call_id)


def _claim_portable(free: dict[int, int], limit: int, now: datetime, lease: datetime) -> list[tuple]:
    """SQLite (the demo): the same choice by a window function, claimed by a conditional update (writes are
    serialised there, so no row is claimed twice)."""
    place = Window(RowNumber(), partition_by=[F("endpoint_id")], order_by=[F("next_attempt_at").asc(), F("pk").asc()])
    due = (
        OutboundCall.objects.filter(kind=KIND, status=S.PENDING, next_attempt_at__lte=now, endpoint__enabled=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .annotate(place=place)
        .values_list("pk", "endpoint_id", "place", "endpoint__failing_since")
    )
    initial = settings.MP_WEBHOOK_CONCURRENCY
    chosen = [
        (place, pk)
        for pk, endpoint_id, place, failing in due
        if place <= free.get(endpoint_id, 1 if failing else initial)
    ]
    ids = [pk for _, pk in sorted(chosen)[:limit]]
    rows = []
    with transaction.atomic():
        unheld = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        for call in OutboundCall.objects.filter(unheld, pk__in=ids):
            call.attempts += 1
            call.claimed_until = lease
            rows.append(call)
        OutboundCall.objects.bulk_update(rows, ["attempts", "claimed_until", "updated_at"])
    return [(c.pk, c.endpoint_id, c.event_id, c.attempts, c.deadline) for c in rows]


def deliveries_prepare(claimed: list[Claimed], now: datetime | None = None) -> list[DeliveryTry | TryOutcome]:
    """Sign each claimed delivery (two queries for the batch: its events and endpoints). A URL off
    ``MP_WEBHOOK_HOSTS`` is an outcome at once (never sent)."""
    now = now or timezone.now()
    events = NotificationEvent.objects.in_bulk([c.event_id for c in claimed])
    endpoints = WebhookEndpoint.objects.in_bulk({c.endpoint_id for c in claimed})
    ready: list[DeliveryTry | TryOutcome] = []
    for c in claimed:
        event, endpoint = events[c.event_id], endpoints[c.endpoint_id]
        body, headers = delivery_request(endpoint, event, now)
        shown = {k: v for k, v in headers.items() if k != "webhook-signature"}
        info: RequestInfo = {"url": endpoint.url, "headers": shown}
        job = DeliveryTry(c.call_id, c.endpoint_id, c.number, endpoint.url, body, headers, info)
        job.event_at, job.deadline = event.timestamp, c.deadline
        allowed, why = routes.host_allowed(endpoint.url, settings.MP_WEBHOOK_HOSTS, "MP_WEBHOOK_HOSTS")
        if allowed:
            ready.append(job)
        else:
            ready.append(TryOutcome(job, now, time.monotonic(), 0.0, error="url_not_allowed", message=why))
    return ready


# --- recording -----------------------------------------------------------------------------------

_SETTLED_FIELDS = ["status", "last_status_code", "last_error", "claimed_until", "completed_at", "next_attempt_at"]


def _attempt(o: TryOutcome, outcome: str) -> CallAttempt:
    return CallAttempt(
        call_id=o.job.call_id,
        number=o.job.number,
        started_at=o.started_at,
        duration_ms=int(o.seconds * 1000),
        request_method="POST",
        request_url=o.job.url[:2000],
        request_headers=o.job.request.get("headers", {}),
        request_body="",
        status_code=o.status_code,
        response_body=truncate(o.text),
        outcome=outcome,
        error=_error_text(o),
    )


def _error_text(o: TryOutcome) -> str:
    if o.ok:
        return ""
    if o.error:
        return f"{o.error}: {o.message}"
    if o.status_code == 410:
        return "gone: the endpoint answered 410 Gone"
    return f"http_{o.status_code}: the endpoint answered {o.status_code}"


def _outcome_of(o: TryOutcome) -> str:
    if o.ok:
        return CallAttempt.Outcome.SUCCESS
    if o.error == "url_not_allowed" or o.status_code == 410:
        return CallAttempt.Outcome.PERMANENT
    return CallAttempt.Outcome.RETRIABLE


@dataclass
class Recorded:
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    stale: int = 0  # tries whose claim had been taken over or settled meanwhile: kept as attempts only
    disabled: list[int] = field(default_factory=list)


def deliveries_record(outcomes: list[TryOutcome]) -> Recorded:
    """Record a batch of tries in one transaction: their attempts, each delivery's new state, each endpoint's
    failure streak (started by a failed try, ended by a 2xx: the batch's last word per endpoint), 410s."""
    done = Recorded()
    if not outcomes:
        return done
    now = timezone.now()
    with transaction.atomic():
        loaded = ["attempts", "deadline", *_SETTLED_FIELDS, "updated_at"]  # never a deferred field in bulk_update
        calls = OutboundCall.objects.select_for_update().only(*loaded)
        held = calls.in_bulk([o.job.call_id for o in outcomes])
        attempts, changed, streak = [], [], {}
        for o in sorted(outcomes, key=lambda o: o.finished_at):
            outcome = _outcome_of(o)
            attempts.append(_attempt(o, outcome))
            streak[o.job.endpoint_id] = o
            call = held.get(o.job.call_id)
            if call is None or call.status != S.PENDING or call.attempts != o.job.number:
                done.stale += 1
                continue
            _settle(call, o, outcome, now)
            changed.append(call)
            if call.status == S.SUCCEEDED:
                done.delivered += 1
                if o.job.event_at is not None:
                    metrics.on_commit(metrics.mp_event_delivered, o.job.event_at)
            elif call.status == S.FAILED:
                done.failed += 1
            else:
                done.retried += 1
            metrics.on_commit(metrics.mp_delivery_observed, KIND, call.status, o.seconds)
            if o.status_code == 410 and o.job.endpoint_id not in done.disabled:
                done.disabled.append(o.job.endpoint_id)
        CallAttempt.objects.bulk_create(attempts)
        _deliveries_update(changed, now)
        _streaks_record(streak, now)
        for endpoint_id in done.disabled:
            gone = next(o for o in outcomes if o.job.endpoint_id == endpoint_id and o.status_code == 410)
            event_id = gone.job.headers.get("webhook-id", "")
            endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
            endpoint_disable(endpoint, reason=f"answered 410 Gone to {event_id}", auto=True)
    return done


_SETTLE_SQL = """
UPDATE integration_outboundcall o
SET status = v.status, last_status_code = v.code, last_error = v.error, claimed_until = NULL,
    completed_at = v.completed_at, next_attempt_at = v.next_attempt_at, updated_at = %s
FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::text[], %s::timestamptz[], %s::timestamptz[])
    AS v(id, status, code, error, completed_at, next_attempt_at)
WHERE o.id = v.id
"""


def _deliveries_update(changed: list[OutboundCall], now: datetime) -> None:
    """The settled deliveries' new state in one statement: an ``UPDATE ... FROM unnest(...)`` on PostgreSQL
    (Django's ``bulk_update`` builds a CASE per row and field: it was half of a dispatcher's CPU), else
    ``bulk_update``."""
    if not changed:
        return
    if connection.vendor != "postgresql":
        OutboundCall.objects.bulk_update(changed, [*_SETTLED_FIELDS, "updated_at"])
        return
    columns: list[list[Any]] = [
        [c.pk for c in changed],
        [c.status for c in changed],
        [c.last_status_code for c in changed],
        [c.last_error for c in changed],
        [c.completed_at for c in changed],
        [c.next_attempt_at for c in changed],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_SETTLE_SQL, [now, *columns])


def _settle(call: OutboundCall, o: TryOutcome, outcome: str, now: datetime) -> None:
    call.last_status_code = o.status_code
    call.claimed_until = None
    call.updated_at = now
    if outcome == CallAttempt.Outcome.SUCCESS:
        call.status, call.last_error, call.completed_at = S.SUCCEEDED, "", now
        return
    call.last_error = _error_text(o)
    if outcome == CallAttempt.Outcome.RETRIABLE:
        retry_at = now + timedelta(seconds=call_backoff(call.attempts, o.retry_after))
        if retry_at <= call.deadline:
            call.next_attempt_at = retry_at
            return
        call.last_error = backlog.call_past_deadline(call, probe=False) or call.last_error
    call.status, call.completed_at = S.FAILED, now


def _streaks_record(last: dict[int, TryOutcome], now: datetime) -> None:
    ok = [e for e, o in last.items() if o.ok]
    failed = [e for e, o in last.items() if not o.ok]
    if ok:  # rewritten when the streak ends or once a second: two dispatchers never queue on the endpoint's row
        stale = Q(failing_since__isnull=False) | Q(last_success_at__isnull=True) | Q(last_success_at__lt=now - _SECOND)
        WebhookEndpoint.objects.filter(stale, pk__in=ok).update(failing_since=None, last_success_at=now)
    if failed:
        WebhookEndpoint.objects.filter(pk__in=failed, failing_since__isnull=True).update(failing_since=now)


# --- the run -------------------------------------------------------------------------------------


@dataclass
class DispatchRun:
    ran: bool = False
    tries: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    stale: int = 0
    rounds: int = 0
    windows: dict[int, float] = field(default_factory=dict)


def _slot_take() -> int | None:
    with connection.cursor() as cursor:
        for slot in range(settings.MP_WEBHOOK_DISPATCHERS):
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_SLOT_LOCK, slot])
            if cursor.fetchone()[0]:
                return slot
    return None


def _slot_free(slot: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_SLOT_LOCK, slot])


def _due_within(seconds: float) -> bool:
    soon = timezone.now() + timedelta(seconds=seconds)
    return OutboundCall.objects.filter(
        kind=KIND, status=S.PENDING, next_attempt_at__lte=soon, endpoint__enabled=True
    ).exists()


def dispatch_budget() -> float:
    """Seconds a run may last: a share of django-q2's task timeout. Claims stop ``MP_WEBHOOK_TIMEOUT`` before
    its end, so every try has ended, and been recorded, by then."""
    return settings.Q_CLUSTER["timeout"] * TASK_TIMEOUT_SHARE


def deliveries_dispatch(
    *, budget: float | None = None, until_idle: bool = False, hand_over: bool = False
) -> DispatchRun:
    """One dispatcher run, if a slot is free (else nothing: enough dispatchers run). ``until_idle``: stop once
    nothing is in flight and nothing is due within ``MP_WEBHOOK_RETRY_INLINE_MAX`` (tests, commands);
    else run for ``budget`` seconds (default ``dispatch_budget()``). ``hand_over``: the first slot's run asks
    for a second dispatcher as it starts, and every run, once it stops claiming, frees its slot and asks for
    its successor before it waits for its last tries (no gap while a run winds down)."""
    run = DispatchRun()
    postgres = connection.vendor == "postgresql"
    slot = _slot_take() if postgres else 0
    if slot is None:
        return run
    run.ran = True
    if hand_over and slot == 0 and settings.MP_WEBHOOK_DISPATCHERS > 1:
        deliveries_kick(force=True)  # the others' slots: taken by then, or by this one
    held = [True]

    def claims_ended() -> None:
        if postgres and held[0]:
            _slot_free(slot)
            held[0] = False
        if hand_over:
            deliveries_kick(force=True)

    sender = Sender(
        timeout=settings.MP_WEBHOOK_TIMEOUT,
        connect_timeout=settings.MP_WEBHOOK_CONNECT_TIMEOUT,
        max_connections=settings.MP_WEBHOOK_IN_FLIGHT,
    )
    try:
        if budget is None:  # a run that stops when idle is not a task: no task timeout to stay inside
            budget = 3600.0 if until_idle else dispatch_budget()
        _dispatch(run, sender, budget, until_idle, claims_ended)
    finally:
        sender.close()
        if postgres and held[0]:
            _slot_free(slot)
    return run


def _dispatch(
    run: DispatchRun, sender: Sender, budget: float, until_idle: bool, claims_ended: Callable[[], None]
) -> None:
    started = time.monotonic()
    claims_end = started + max(0.0, budget - settings.MP_WEBHOOK_TIMEOUT - 1.0)
    windows: dict[int, EndpointWindow] = {}
    in_flight: dict[int, int] = {}
    ended: list[TryOutcome] = []
    wait = 0.0
    wound_down = False
    while True:
        with contextlib.suppress(queue.Empty):  # nothing ended meanwhile
            ended.append(sender.outcomes.get(timeout=wait) if wait > 0 else sender.outcomes.get_nowait())
            if wait > 0 and sum(in_flight.values()) > len(ended):
                time.sleep(LINGER)  # a few more tries end meanwhile: one round records them all
        while not sender.outcomes.empty():
            ended.append(sender.outcomes.get_nowait())
        if ended:
            _settle_round(run, ended, windows, in_flight)
            ended = []
        claimed = 0
        if time.monotonic() < claims_end:
            claimed = _claim_round(run, sender, windows, in_flight, ended)
        elif not wound_down:
            wound_down = True
            claims_ended()
        busy = sum(in_flight.values())
        if not busy and not ended:
            if time.monotonic() >= claims_end:
                break
            if until_idle and not claimed and not _due_within(settings.MP_WEBHOOK_RETRY_INLINE_MAX):
                break
        run.rounds += 1
        wait = 0.0 if claimed >= settings.MP_WEBHOOK_BATCH or ended else settings.MP_WEBHOOK_POLL
    run.windows = {e: w.size for e, w in windows.items()}


def _claim_round(
    run: DispatchRun,
    sender: Sender,
    windows: dict[int, EndpointWindow],
    in_flight: dict[int, int],
    ended: list[TryOutcome],
) -> int:
    free = {e: w.places - in_flight.get(e, 0) for e, w in windows.items()}
    room = min(settings.MP_WEBHOOK_BATCH, settings.MP_WEBHOOK_IN_FLIGHT - sum(in_flight.values()))
    claimed = deliveries_claim(free, room)
    if not claimed:
        return 0
    failing = set(
        WebhookEndpoint.objects.filter(pk__in={c.endpoint_id for c in claimed if c.endpoint_id not in windows})
        .exclude(failing_since=None)
        .values_list("pk", flat=True)
    )
    for c in claimed:
        if c.endpoint_id not in windows:
            windows[c.endpoint_id] = EndpointWindow.start(
                settings.MP_WEBHOOK_CONCURRENCY, settings.MP_WEBHOOK_WINDOW_MAX, failing=c.endpoint_id in failing
            )
    for item in deliveries_prepare(claimed):
        if isinstance(item, TryOutcome):
            ended.append(item)  # never sent: recorded with the next round's
            in_flight[item.job.endpoint_id] = in_flight.get(item.job.endpoint_id, 0) + 1
            continue
        in_flight[item.endpoint_id] = in_flight.get(item.endpoint_id, 0) + 1
        sender.submit(item)
    run.tries += len(claimed)
    return len(claimed)


def _settle_round(
    run: DispatchRun, ended: list[TryOutcome], windows: dict[int, EndpointWindow], in_flight: dict[int, int]
) -> None:
    try:
        done = deliveries_record(ended)
    except Exception:  # the claims stay leased: their lease runs out and they are claimed and tried again
        logger.exception("recording %s delivery tries failed; their deliveries go again after the lease", len(ended))
        done = Recorded()
    run.delivered += done.delivered
    run.retried += done.retried
    run.failed += done.failed
    run.stale += done.stale
    now = time.monotonic()
    for o in ended:
        endpoint_id = o.job.endpoint_id
        in_flight[endpoint_id] = max(0, in_flight.get(endpoint_id, 0) - 1)
        window = windows.get(endpoint_id)
        if window is not None:
            window.answered(ok=o.ok, fast=o.seconds <= settings.MP_WEBHOOK_FAST_SECONDS, sent_at=o.sent_at, now=now)
    for endpoint_id in done.disabled:
        windows.pop(endpoint_id, None)


# --- starting dispatchers --------------------------------------------------------------------------


def deliveries_dispatch_and_hand_over() -> DispatchRun:
    """The task: one run, which asks for its successor as it stops claiming, so a dispatcher is always there to
    claim what commits next; the every-minute sweep starts one if this chain was ever broken."""
    return deliveries_dispatch(hand_over=True)

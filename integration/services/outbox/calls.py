"""The outbox: outbound calls (to Link, to MP webhook endpoints) are rows committed with the change
that caused them.

A worker claims a due call with a short lease (row lock, skip locked), sends it outside any
transaction through its kind's sender, commits the attempt (``attempts``), then applies the result
through the kind's handlers (``call_kinds``). The sweep (``sweep``) re-enqueues due calls and calls
whose lease ran out (a killed worker loses nothing).
"""

import logging
import random
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from integration import metrics
from integration.http import CallError, CallResponse
from integration.models import CallAttempt, OutboundCall
from integration.services.availability.record import link_reachability_record
from integration.services.errors import ActionRefused
from integration.services.outbox import attempts, backlog, circuit
from integration.services.outbox.circuit import Action, Answer, Change
from integration.services.outbox.kinds import (
    CALL_KINDS,
    CallKind,
    OrderingKey,
    call_kind,
    ordered_kinds,
    own_queue_kinds,
)
from integration.services.outbox.workers import WorkerBudget, task_enqueue

logger = logging.getLogger(__name__)


def calls_in_order(key: OrderingKey, value):
    """The calls that go out one at a time with ``key``'s ``value`` (which may be an ``OuterRef``)."""
    return OutboundCall.objects.filter(kind__in=ordered_kinds(key.group), **{key.field: value})


def _ordering_keys() -> set[OrderingKey]:
    return {kind.ordering_key for kind in CALL_KINDS.values() if kind.ordering_key}


def calls_unheld(now) -> Q:
    """Pending and not leased to a live worker (never claimed, or its lease ran out)."""
    return Q(status=OutboundCall.Status.PENDING) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


def call_create(
    *,
    kind: str,
    method: str,
    path: str,
    payload=None,
    idempotency_key: str = "",
    store=None,
    order=None,
    **subjects,
) -> OutboundCall:
    """Insert a call in the caller's transaction; its first try is enqueued once that commits.

    Raises ``UnregisteredCallKind`` for a kind the registry does not know.
    """
    deadline_seconds = call_kind(kind).deadline_seconds
    now = timezone.now()
    call = OutboundCall.objects.create(
        kind=kind,
        method=method,
        path=path,
        payload=payload,
        idempotency_key=idempotency_key,
        store=store,
        order=order,
        **subjects,
        next_attempt_at=now,
        deadline=now + timedelta(seconds=deadline_seconds),
    )
    transaction.on_commit(lambda: call_enqueue(call.pk, kind))
    return call


def call_enqueue(call_id: int, kind: str | None = None) -> None:
    """Hand "try call N now" to django-q2 (a kind with workers of its own: to those). A lost message
    is harmless: the sweep finds the row."""
    own = kind and call_kind(kind).enqueue
    if own:
        own(call_id)
        return
    task_enqueue("integration.tasks.deliver_call", call_id, name=f"deliver-call-{call_id}")


def drain_enqueue() -> None:
    """Hand "send released calls" to django-q2 (``drain.calls_drain``)."""
    task_enqueue("integration.tasks.drain_calls", name="drain-calls")


def calls_release(channel: str) -> int:
    """The channel's circuit closed: pull its held calls forward and start a few drain loops (one
    per worker, not one task per call: the backlog goes at the drain rate, not at the broker's)."""
    released = backlog.backlog_release(channel)
    for _ in range(min(released, settings.Q_CLUSTER["workers"])):
        drain_enqueue()
    return released


def call_backoff(attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with equal jitter; never sooner than the answer's Retry-After."""
    ceiling = min(settings.LINK_RETRY_MAX, settings.LINK_RETRY_BASE * (2 ** max(0, attempts - 1)))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    return max(delay, retry_after or 0.0)


def call_claim(call_id: int | None = None, *, released: bool = False) -> OutboundCall | None:
    """Lease one due call to this worker, or None if it is not due or another worker holds it.
    ``released``: only a call released when its circuit closed (the drain's)."""
    now = timezone.now()
    with transaction.atomic():
        due = OutboundCall.objects.select_for_update(skip_locked=True).filter(
            calls_unheld(now), next_attempt_at__lte=now
        )
        if call_id is None:
            due = due.exclude(kind__in=own_queue_kinds())
        for key in _ordering_keys():
            earlier_pending = calls_in_order(key, OuterRef(key.field)).filter(
                status=OutboundCall.Status.PENDING, pk__lt=OuterRef("pk")
            )
            due = due.exclude(Q(kind__in=ordered_kinds(key.group)) & Exists(earlier_pending))
        if call_id is not None:
            due = due.filter(pk=call_id)
        if released:
            due = due.filter(waiting_on="", waiting_since__isnull=False)
        call = due.order_by("next_attempt_at").first()
        if call is None:
            return None
        call.claimed_until = now + timedelta(seconds=call_kind(call.kind).claim_lease_seconds)
        call.attempts += 1
        call.save(update_fields=["claimed_until", "attempts", "updated_at"])
    return call


def _answer(response: CallResponse | None, error: CallError | None) -> Answer:
    """What the try tells the host's circuit."""
    if response is not None or error is None:
        return Answer.OK
    if error.status_code == 429:
        return Answer.THROTTLED
    return Answer.DOWN if error.retriable else Answer.REFUSED


def call_send(call: OutboundCall, *, probe: bool = False) -> str:
    """One HTTP try of a claimed call; returns the outcome (a CallAttempt.Outcome value).

    The attempt is committed before the answer is applied: a handler that raises cannot erase the
    record of a try that happened (the call stays pending, with the error, and is tried again later).
    ``probe``: the channel's circuit is open and this try tests whether Link is back.
    """
    kind = call_kind(call.kind)
    started_at = timezone.now()
    t0 = time.monotonic()
    response: CallResponse | None = None
    error: CallError | None = None
    try:
        response = kind.send(call, kind)
    except CallError as exc:
        error = exc
    attempt = attempts.attempt_record(call, response, error, started_at, int((time.monotonic() - t0) * 1000))
    channel = kind.channel(call)
    pause = call_backoff(call.attempts, error.retry_after) if error is not None else 0.0
    # Only calls to Link tell Link's circuit (an MP webhook endpoint that fails says nothing about Link).
    change = (
        circuit.circuit_record(channel, _answer(response, error), probe=probe, pause=pause) if kind.to_link else None
    )
    if change in (circuit.Change.OPENED, circuit.Change.CLOSED):  # Link unreachable from now, or again reachable
        link_reachability_record(channel, reachable=change == circuit.Change.CLOSED)
    observed = metrics.link_call_observed if kind.to_link else metrics.mp_delivery_observed
    try:
        with transaction.atomic():
            locked = OutboundCall.objects.select_for_update().get(pk=call.pk)
            if locked.status == OutboundCall.Status.PENDING:  # else settled meanwhile (e.g. a skipped submission)
                backlog.call_sent(locked)
                _settle(locked, kind, response, error, probe=probe, pause=pause)
                metrics.on_commit(observed, locked.kind, locked.status, attempt.duration_ms / 1000)
    except Exception as exc:
        logger.exception("outbound call %s: applying the answer of attempt %s failed", call.pk, attempt.number)
        attempts.attempt_apply_failed(call, attempt, exc, retry_in=call_backoff(call.attempts))
    if change == Change.CLOSED:
        calls_release(channel)
    return attempt.outcome


def _enqueue_next_in_order(call: OutboundCall, key: OrderingKey) -> None:
    """The next call with the same ordering key was waiting for this one: send it now, not at the next sweep."""
    following = (
        calls_in_order(key, getattr(call, key.field))
        .filter(status=OutboundCall.Status.PENDING, pk__gt=call.pk)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        transaction.on_commit(lambda: call_enqueue(following))


def _settle(
    call: OutboundCall,
    kind: CallKind,
    response: CallResponse | None,
    error: CallError | None,
    *,
    probe: bool = False,
    pause: float = 0.0,
) -> None:
    if response is not None:
        call.last_status_code = response.status_code
        call.response = attempts.stored_response(response)
        rejection = kind.on_success(call, response) if kind.on_success else None
        if rejection:
            _finish(call, OutboundCall.Status.FAILED, rejection)
        else:
            _finish(call, OutboundCall.Status.SUCCEEDED, "")
    else:
        assert error is not None  # a try ends in an answer or an error
        _settle_error(call, kind, error, probe=probe, pause=pause)
    if kind.ordering_key and call.status != OutboundCall.Status.PENDING:
        _enqueue_next_in_order(call, kind.ordering_key)


def _settle_error(call: OutboundCall, kind: CallKind, error: CallError, *, probe: bool, pause: float) -> None:
    call.last_status_code = error.status_code
    call.last_error = str(error)
    call.claimed_until = None
    if error.retriable:
        # A failed probe waits for the next probe, not for its own backoff.
        delay = settings.LINK_CIRCUIT_PROBE_INTERVAL if probe else pause
        retry_at = timezone.now() + timedelta(seconds=delay)
        reason = None if retry_at <= call.deadline else backlog.call_past_deadline(call, probe=probe)
        if reason is None:
            call.next_attempt_at = retry_at
            call.save()
            return
        call.last_error = reason
    call_fail(call, call.last_error, kind=kind)


def _finish(call: OutboundCall, status: str, reason: str) -> None:
    """Settle a call for good (the caller holds its row lock)."""
    call.status = status
    call.last_error = reason
    call.claimed_until = None
    call.completed_at = timezone.now()
    call.save()


def call_fail(call: OutboundCall, reason: str, *, kind: CallKind | None = None) -> None:
    """Settle a call as FAILED (caller holds the row lock) and let its kind react."""
    _finish(call, OutboundCall.Status.FAILED, reason)
    kind = kind or CALL_KINDS.get(call.kind)
    if kind and kind.on_failure:
        kind.on_failure(call, reason)


def call_skip(call: OutboundCall, reason: str) -> None:
    _finish(call, OutboundCall.Status.SKIPPED, reason)


def calls_skip(calls, reason: str) -> int:
    """Skip many calls in one UPDATE; one in flight settles as skipped and is not sent again."""
    return calls.update(
        status=OutboundCall.Status.SKIPPED, last_error=reason, claimed_until=None, completed_at=timezone.now()
    )


def link_worst_try() -> float:
    """How long one try to Link may take (a full connect and read timeout): the loops' ``WorkerBudget``."""
    return float(settings.LINK_CONNECT_TIMEOUT + settings.LINK_READ_TIMEOUT)


def _wait_until_due(call_id: int, inline_wait: float) -> None:
    due = (
        OutboundCall.objects.filter(pk=call_id, status=OutboundCall.Status.PENDING)
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    wait = (due - timezone.now()).total_seconds() if due else 0.0
    if 0 < wait <= inline_wait:
        time.sleep(wait)


def call_deliver(call_id: int | None = None, *, inline_wait: float | None = None) -> int:
    """Claim and send a call until it settles or its next try is too far off to wait for here.

    Short backoffs are waited out in place (django-q2 has no delayed tasks and its scheduler
    ticks every 30 s); longer ones are left to the sweep. Returns the number of tries made.
    """
    inline_wait = settings.LINK_RETRY_INLINE_MAX if inline_wait is None else inline_wait
    budget = WorkerBudget.start(link_worst_try())
    tries = 0
    if call_id is not None:
        _wait_until_due(call_id, inline_wait)
    while True:
        call = call_claim(call_id)
        if call is None:
            return tries
        permit = backlog.call_admit(call, max_wait=inline_wait)
        if permit.action == Action.HOLD:
            if permit.wait is None and backlog.backlog_closed(backlog.call_host(call)):
                calls_release(backlog.call_host(call))  # it closed while this call was being held
            return tries
        time.sleep(permit.wait or 0.0)  # the slot is reserved: the budget, a 429's pause or the drain
        tries += 1
        outcome = call_send(call, probe=permit.action == Action.PROBE)
        if outcome != CallAttempt.Outcome.RETRIABLE or call_id is None:
            return tries
        call.refresh_from_db(fields=["status", "next_attempt_at"])
        wait = (call.next_attempt_at - timezone.now()).total_seconds()
        if call.status != OutboundCall.Status.PENDING or wait > inline_wait:
            return tries
        if not budget.allows(wait):
            call_enqueue(call.pk)  # a fresh task, with a fresh budget, waits for the next try
            return tries
        time.sleep(max(0.0, wait))


class CallRetryRefused(ActionRefused):
    """This call must not be sent again by itself; the message says what to do instead."""


def call_retry_now(call: OutboundCall) -> None:
    """Ops asked to try again now: a FAILED call goes back to PENDING with a fresh deadline.

    ``CallRetryRefused`` when the call is settled otherwise (SUCCEEDED, SKIPPED), or a failed
    call's subject moved on since (a submission is retried through its order).
    """
    with transaction.atomic():
        locked = OutboundCall.objects.select_for_update().get(pk=call.pk)
        if locked.status not in (OutboundCall.Status.PENDING, OutboundCall.Status.FAILED):
            status = locked.get_status_display().lower()
            raise CallRetryRefused(f"it is {status}; only a pending or failed call can be tried again.")
        kind = call_kind(locked.kind)
        if locked.status == OutboundCall.Status.FAILED and kind.retry_refusal:
            refusal = kind.retry_refusal(locked)
            if refusal:
                raise CallRetryRefused(refusal)
        now = timezone.now()
        locked.status = OutboundCall.Status.PENDING
        locked.next_attempt_at = now
        locked.claimed_until = None
        locked.completed_at = None
        if locked.deadline <= now:
            locked.deadline = now + timedelta(seconds=kind.deadline_seconds)
        locked.save()
        transaction.on_commit(lambda: call_enqueue(locked.pk, locked.kind))

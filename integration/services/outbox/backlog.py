"""The outbox's side of the circuit (issue 12): calls held while Link is down, the drain when it is
back, and deadlines that mean "Link could not take it".

A call the circuit holds is released without counting as a try (``waiting_on`` names the host).
The call that closes the circuit pulls every held call of its host forward, oldest first; they then
go at ``LINK_DRAIN_RATE``. A call's deadline fails it only after a try made while the circuit was
closed (since it last closed), or when Link has been down for longer than the call's whole deadline
("Link unavailable since ...").
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, F, Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from integration.models import CallAttempt, OutboundCall
from integration.services.outbox import circuit
from integration.services.outbox.circuit import Action, CircuitMode, Permit
from integration.services.outbox.kinds import call_kind


def call_host(call: OutboundCall) -> str:
    """The channel (host) a call talks to, as its kind names it: its circuit and budget."""
    return call_kind(call.kind).channel(call)


def _pending():
    return OutboundCall.objects.filter(status=OutboundCall.Status.PENDING)


def call_admit(call: OutboundCall, *, max_wait: float) -> Permit:
    """Ask the host's circuit for a claimed call; a HOLD releases the call untried."""
    host = call_host(call)
    permit = circuit.circuit_acquire(host, max_wait=max_wait)
    if permit.action != Action.HOLD:
        return permit
    now = timezone.now()
    held: dict[str, object] = {"claimed_until": None, "attempts": F("attempts") - 1}
    if permit.wait is None:  # open: it waits for the circuit (the close or the sweep release it), not for a time
        held.update(
            waiting_on=host,
            waiting_since=Coalesce("waiting_since", now),
            next_attempt_at=now + timedelta(seconds=settings.LINK_CALL_DEADLINE),
        )
    else:
        held["next_attempt_at"] = now + timedelta(seconds=permit.wait)
    OutboundCall.objects.filter(pk=call.pk).update(**held)
    return permit


def backlog_release(host: str) -> int:
    """Pull every call held for ``host`` forward (due since it was created, so the oldest goes first)
    and start the drain; returns how many."""
    released = (
        _pending().filter(waiting_on=host).update(waiting_on="", next_attempt_at=F("created_at"), claimed_until=None)
    )
    if released:
        circuit.circuit_drain_start(host, released)
    return released


def backlog_closed(host: str) -> bool:
    return circuit.circuit_status(host).state == CircuitMode.CLOSED


def backlog_sweep() -> list[int]:
    """The sweep's safety net: release the calls of a circuit that closed without releasing them (its
    worker died: they are then due), and make the oldest held call due when an open circuit's probe is
    due and nobody sends one. Returns the probes' ids to enqueue."""
    due = []
    for host in _pending().exclude(waiting_on="").values_list("waiting_on", flat=True).distinct():
        status = circuit.circuit_status(host)
        if status.state == CircuitMode.CLOSED:
            backlog_release(host)
        elif status.probe_due:
            oldest = _pending().filter(waiting_on=host).order_by("created_at", "pk").first()
            if oldest is not None:
                OutboundCall.objects.filter(pk=oldest.pk).update(next_attempt_at=timezone.now())
                due.append(oldest.pk)
    return due


def call_sent(call: OutboundCall) -> None:
    """A try is going out: the call no longer waits (the caller saves it)."""
    call.waiting_on = ""
    call.waiting_since = None


def _unavailable(call: OutboundCall, status: circuit.CircuitStatus, now) -> str | None:
    """Why the call fails although it was never tried since Link went down, or None to keep waiting."""
    if status.since is None or now - status.since < call.deadline - call.created_at:
        return None
    return (
        f"Link unavailable since {status.since:%Y-%m-%d %H:%M:%S} UTC (longer than this call's "
        f"{(call.deadline - call.created_at).total_seconds():.0f} s deadline); retry it once Link is back."
    )


def _tried_while_up(call: OutboundCall, status: circuit.CircuitStatus) -> bool:
    """Did the call have a try while the circuit was closed, since it last closed (probes do not count)?"""
    tries = CallAttempt.objects.filter(call=call, started_at__gte=status.closed_at or call.created_at)
    if status.state == CircuitMode.OPEN:
        tries = tries.filter(started_at__lt=status.since)
    return tries.exists()


def _deadline_verdict(call: OutboundCall, gave_up: str) -> str | None:
    if not call_kind(call.kind).to_link:
        return gave_up  # no circuit waits for it: its deadline is its deadline
    status = circuit.circuit_status(call_host(call))
    if _tried_while_up(call, status):
        return gave_up
    if status.state == CircuitMode.OPEN:
        return _unavailable(call, status, timezone.now())
    return None  # Link is up and this call has not been tried since: it goes first, it does not fail


def call_past_deadline(call: OutboundCall, *, probe: bool) -> str | None:
    """A retriable try left the call past its deadline: the reason to fail it, or None to keep trying."""
    gave_up = (
        f"Gave up at the deadline ({call.deadline:%Y-%m-%d %H:%M:%S} UTC) after {call.attempts} "
        f"attempts; last error: {call.last_error}"
    )
    return _deadline_verdict(call, gave_up) if probe else gave_up


def call_expired(call: OutboundCall) -> str | None:
    """The sweep found the call past its deadline with nobody holding it: the reason to fail it, or None."""
    gave_up = f"Deadline passed before delivery ({call.attempts} attempts). {call.last_error}".strip()
    return _deadline_verdict(call, gave_up)


@dataclass(frozen=True)
class HostBacklog:
    circuit: circuit.CircuitStatus
    waiting: int  # held by the open circuit
    oldest_waiting_since: object
    drained: int  # of the drain's calls, sent so far (while it drains)


def backlog_status() -> list[HostBacklog]:
    """Every known host's circuit with its held calls and the drain's progress (one query)."""
    rows = {
        row["waiting_on"]: row
        for row in _pending()
        .filter(waiting_since__isnull=False)
        .order_by()
        .values("waiting_on")
        .annotate(n=Count("pk"), oldest=Min("waiting_since"))
    }
    not_yet_sent = rows.get("", {}).get("n", 0)  # released by a close, not sent yet
    result = []
    for status in sorted(circuit.circuits_status(), key=lambda s: s.host):
        row = rows.get(status.host, {})
        drained = max(0, status.drain_total - not_yet_sent) if status.draining else 0
        result.append(HostBacklog(status, row.get("n", 0), row.get("oldest"), drained))
    return result

"""The drain: after a circuit closed, a few loops send its released calls, oldest first (issue 12)."""

import time

from django.conf import settings

from integration.logcontext import call_log_ids, log_context
from integration.models import CallAttempt
from integration.services.outbox import backlog
from integration.services.outbox import calls as outbound
from integration.services.outbox.circuit import Action
from integration.services.outbox.workers import WorkerBudget


def calls_drain() -> int:
    """One drain loop: send released calls, oldest first, until none is left; returns the tries.

    Leaves within a django-q2 task's budget and hands on to a fresh task; a loop that dies leaves its
    calls due, for the other loops or the sweep."""
    inline_wait = settings.LINK_RETRY_INLINE_MAX
    budget = WorkerBudget.start(outbound.link_worst_try())
    tries = 0
    while budget.allows(inline_wait):  # a permit may make it wait that long before its try
        call = outbound.call_claim(released=True)
        if call is None:
            return tries
        permit = backlog.call_admit(call, max_wait=inline_wait)
        if permit.action == Action.HOLD:
            return tries  # open again, or a long 429 pause: the circuit and the sweep take it from here
        time.sleep(permit.wait or 0.0)
        tries += 1
        with log_context(**call_log_ids(call.pk)):  # as a call's own task logs it
            outcome = outbound.call_send(call, probe=permit.action == Action.PROBE)
        if outcome == CallAttempt.Outcome.RETRIABLE:
            outbound.call_enqueue(call.pk)  # its own retries, like any call's
    outbound.drain_enqueue()
    return tries

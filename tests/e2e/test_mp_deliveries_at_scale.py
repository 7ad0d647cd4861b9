"""Issue 24 end to end: MP deliveries keep up with a big marketplace, and no endpoint holds the others back.

Real processes (gunicorn, django-q2 clusters, the Link sandbox, PostgreSQL, Redis), as the other e2e tests."""

import random
import threading
import time
import uuid
from collections import Counter

import pytest
from django.db import transaction

from dev.demo import order_request_from_catalog
from dev.receiver import Answer, WebhookReceiver
from integration.models import CallAttempt, OutboundCall, WebhookEndpoint
from integration.services.mp_events import events as n
from tests.dripper import Dripper
from tests.waiting import wait_for

from .helpers import api_client, open_stores
from .test_mp_webhooks import register

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]


def test_dripping_endpoints_hold_back_neither_another_clients_first_event_nor_their_failing_mark(stack_factory):
    """One client's four endpoints answer 200 and then drip a byte every 3 s (they used to hold every delivery
    worker until django-q2's 60 s task timeout killed it, no try recorded); another client's first event arrives
    within 5 s of its order, and the dripping endpoints are marked failing once their tries pass the deadline."""
    dripper = Dripper(every=3.0)
    healthy = WebhookReceiver().start()
    deadline = 6.0
    try:
        stack = stack_factory(
            webhooks=True,
            sandbox_args=("--seed", "24", "--no-auto"),
            env={
                "MP_WEBHOOK_HOSTS": f"{dripper.url.split('/')[2]},{healthy.url.split('/')[2]}",
                "MP_WEBHOOK_TIMEOUT": str(deadline),
            },
        )
        dripping_client = api_client(stack)
        for k in range(4):
            register(dripping_client, f"{dripper.url}/{k}", n.ORDER_EVENT_TYPES)
        other = api_client(stack, "courier-dispatch")
        healthy.secrets = [register(other, healthy.url, [n.ORDER_SUBMITTED])["secret"]]
        catalogs = open_stores(stack, dripping_client, 1, "q")
        rng = random.Random(24)
        for _ in range(3):
            answer = dripping_client.place(
                order_request_from_catalog(catalogs["sf_q0"], "sf_q0", rng), key=uuid.uuid4().hex
            )
            assert answer.status_code == 201, answer.text
        wait_for(lambda: dripper.requests >= 4, timeout=15, what="the dripping endpoints' tries to be in flight")
        in_flight_at_order = dripper.requests

        t0 = time.time()
        answer = other.place(order_request_from_catalog(catalogs["sf_q0"], "sf_q0", rng), key=uuid.uuid4().hex)
        assert answer.status_code == 201, answer.text
        wait_for(lambda: healthy.accepted, timeout=10, interval=0.05, what="the other client's first event")
        other_delay = time.time() - t0

        dripping = WebhookEndpoint.objects.filter(url__startswith=dripper.url)
        wait_for(
            lambda: dripping.filter(failing_since__isnull=False).count() == 4,
            timeout=deadline + 10,
            what="the dripping endpoints to be marked failing",
        )
        marked_after = time.time() - t0
        timeouts = CallAttempt.objects.filter(call__endpoint__in=dripping, error__startswith="timeout")
        wait_for(timeouts.exists, timeout=5, what="a timed-out try on record")
    finally:
        healthy.stop()
        dripper.close()
    print(
        f"{in_flight_at_order} dripping tries in flight; the other client's order.submitted arrived "
        f"{other_delay:.2f} s after its order; the four dripping endpoints were failing {marked_after:.1f} s "
        f"after it (deadline {deadline:g} s)"
    )
    assert other_delay < 5
    assert healthy.accepted[0].body["type"] == n.ORDER_SUBMITTED and healthy.accepted[0].valid
    attempt = timeouts.first()
    assert attempt is not None and attempt.outcome == CallAttempt.Outcome.RETRIABLE
    assert attempt.duration_ms < (deadline + 2) * 1000  # ended by its own deadline, not by a task timeout


class Flaky:
    """Fails one try in ten (500) and stalls one in twenty past the sender's deadline (then 503, never a 2xx)."""

    def __init__(self, stall: float):
        self.rng = random.Random(5000)
        self.lock = threading.Lock()
        self.stall = stall
        self.outcomes: Counter[str] = Counter()

    def __call__(self, delivery) -> Answer:
        if not delivery.valid:
            return Answer(400)
        with self.lock:
            roll = self.rng.random()
        if roll < 0.10:
            self.outcomes["500"] += 1
            return Answer(500)
        if roll < 0.15:
            self.outcomes["stall"] += 1
            return Answer(503, delay=self.stall)
        self.outcomes["204"] += 1
        return Answer(204)


def test_five_thousand_events_to_one_endpoint_each_delivered_exactly_once_signed_through_failures(stack_factory):
    events = 5000
    flaky = Flaky(stall=2.0)
    receiver = WebhookReceiver(respond=flaky).start()
    try:
        stack = stack_factory(
            webhooks=True,
            sandbox_args=("--seed", "25", "--no-auto"),
            env={"MP_WEBHOOK_HOSTS": receiver.url.split("/")[2], "MP_WEBHOOK_TIMEOUT": "1", "LINK_RETRY_BASE": "0.2"},
        )
        mp = api_client(stack)
        receiver.secrets = [register(mp, receiver.url, [n.STORE_ACCEPTING_CHANGED])["secret"]]
        data = {"store": {"external_store_id": "sf_x", "venue_id": "ven_x", "name": "X"}, "accepting": True}
        t0 = time.time()
        for _ in range(events // 500):  # as the services emit them: each in the transaction of its change
            with transaction.atomic():
                for _ in range(500):
                    n.event_emit(n.STORE_ACCEPTING_CHANGED, data)
        pending = OutboundCall.objects.filter(kind="deliver_event", status="PENDING")
        wait_for(lambda: not pending.exists(), timeout=300, interval=1, what="every delivery to settle")
        took = time.time() - t0
    finally:
        receiver.stop()

    deliveries = OutboundCall.objects.filter(kind="deliver_event")
    assert deliveries.count() == events
    assert set(deliveries.values_list("status", flat=True)) == {"SUCCEEDED"}
    accepted = Counter(d.webhook_id for d in receiver.accepted)
    assert len(accepted) == events and set(accepted.values()) == {1}  # every event, each exactly once
    assert all(d.valid for d in receiver.received)
    successes = CallAttempt.objects.filter(call__in=deliveries, outcome=CallAttempt.Outcome.SUCCESS)
    assert successes.count() == events
    timeouts = CallAttempt.objects.filter(call__in=deliveries, error__startswith="timeout").count()
    assert flaky.outcomes["500"] >= events * 0.05 and flaky.outcomes["stall"] >= events * 0.02 and timeouts
    print(
        f"{events} events delivered in {took:.1f} s, each exactly once; receiver answered {dict(flaky.outcomes)}; "
        f"{timeouts} tries recorded as timeouts"
    )

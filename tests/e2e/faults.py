"""The fault-injection runs (chaos, production profile): open stores, place orders under faults, wait for
quiet, then check that nothing was lost or done twice and that a store's pause and resume reached Link in order."""

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db.models import Count
from django_fsm_log.models import StateLog

from dev.demo import MarketplaceClient, order_request_from_catalog
from integration.models import Order, OutboundCall, Store, WebhookEvent
from integration.services.stores import store_pause, store_resume
from tests.waiting import wait_for

from .helpers import LINK_TO_STATE

FAULTS = {"error_rate": 0.10, "timeout_rate": 0.05, "webhook_duplicate_rate": 0.2, "webhook_reorder_rate": 0.2}
KITCHEN = (
    *("--confirm-after", "0.5", "--prep-after", "0.5", "--ready-after", "1"),
    *("--reject-rate", "0.1", "--cancel-rate", "0.05", "--webhook-max-attempts", "60"),
)


def open_stores(sandbox, mp: MarketplaceClient, prefix: str, stores: int, orders: int, seed: int) -> list[dict]:
    """Connect ``stores`` venues with menus, wait until each accepts orders; ``orders`` request bodies over them."""
    for n in range(stores):
        venue, storefront = f"ven_{prefix}{n}", f"sf_{prefix}{n}"
        sandbox.connect_venue(venue, name=f"{prefix} {n}", timezone="UTC", external_store_id=storefront)
        sandbox.publish_menu(venue, items=40, groups=8, modifiers=30, depth=2, seed=n)
    wait_for(
        lambda: sum(s["accepting_orders"] for s in mp.get("/stores/").json()["results"]) == stores,
        timeout=60,
        what="every store to accept orders",
    )
    catalogs = {n: mp.get(f"/stores/sf_{prefix}{n}/menu/").json() for n in range(stores)}
    rng = random.Random(seed)
    return [order_request_from_catalog(catalogs[i % stores], f"sf_{prefix}{i % stores}", rng) for i in range(orders)]


class Placing:
    """Places every body once (with the checkout service's retries of a POST it never heard back from),
    spreading them over ``clients`` (one per web server); other threads watch ``placed`` grow."""

    def __init__(self, clients: list[MarketplaceClient], bodies: list[dict]):
        self.clients, self.bodies = clients, bodies
        self.placed: list[str] = []
        self.refused: Counter = Counter()
        self._lock = threading.Lock()

    def _place(self, i: int) -> None:
        client, key, resp = self.clients[i % len(self.clients)], uuid.uuid4().hex, None
        for _ in range(5):
            try:
                resp = client.place(self.bodies[i], key=key)
                break
            except Exception:
                time.sleep(0.5)
        with self._lock:
            if resp is not None and resp.status_code == 201:
                self.placed.append(resp.json()["external_order_id"])
            else:
                self.refused[resp.status_code if resp is not None else "no answer"] += 1

    def run(self, threads: int = 8, meanwhile: Callable[[], None] | None = None) -> None:
        """Place everything; ``meanwhile`` runs in a thread of its own alongside (faults, ops' actions)."""
        beside = threading.Thread(target=meanwhile) if meanwhile else None
        if beside:
            beside.start()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(self._place, range(len(self.bodies))))
        if beside:
            beside.join()

    def wait_placed(self, n: int) -> None:
        while len(self.placed) < n:
            time.sleep(0.2)


def pause_and_resume(venue_id: str, reason: str, paused_for: float) -> None:
    """Ops pause a store, then resume it: both calls must reach Link in that order."""
    store_pause(Store.objects.get(venue_id=venue_id), reason=reason)
    time.sleep(paused_for)
    store_resume(Store.objects.get(venue_id=venue_id))


def wait_quiet(sandbox, timeout: float) -> None:
    def quiet():
        if OutboundCall.objects.filter(status="PENDING").exists():
            return False
        if WebhookEvent.objects.filter(status__in=["RECEIVED", "FAILED"]).exists():
            return False
        return sandbox.quiet()["quiet"]

    wait_for(quiet, timeout=timeout, interval=1, what="quiet (no pending calls, no unapplied events, sandbox idle)")


@dataclass
class Audit:
    mismatched: list  # (order, our state, Link's status) that disagree
    created_twice: list  # orders Link created more than once
    doubled: list  # a transition recorded twice for one order: an event applied twice
    pending: int  # calls still pending after quiet
    pause_keys_at_link: set  # idempotency keys of the paused venue's successful pause calls Link saw
    our_pause_keys: set
    summary: str


def audit(sandbox, placing: Placing, paused_venue: str) -> Audit:
    link_orders = {o["external_order_id"]: o for o in sandbox.orders()}
    ours = {o.external_order_id: o for o in Order.objects.filter(external_order_id__in=placing.placed)}
    mismatched = [
        (eid, o.state, link_orders.get(eid, {}).get("status"))
        for eid, o in ours.items()
        if (o.state == "FAILED" and eid in link_orders)
        or (o.state != "FAILED" and LINK_TO_STATE.get(link_orders.get(eid, {}).get("status")) != o.state)
    ]
    doubled = (
        StateLog.objects.filter(object_id__in=[o.pk for o in ours.values()], content_type__model="order")
        .values("object_id", "state")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    pauses = [
        c for c in sandbox.calls(method="POST", path_prefix=f"/v2/venues/{paused_venue}/pause") if c["status"] == 200
    ]
    calls = Counter(OutboundCall.objects.values_list("kind", flat=True))
    summary = (
        f"{len(placing.placed)} orders placed ({dict(placing.refused)} refused), {len(link_orders)} at Link, "
        f"{sum(o['submissions'] for o in link_orders.values())} submissions for them; final states "
        f"{Counter(o.state for o in ours.values())}; {WebhookEvent.objects.count()} distinct events stored from "
        f"{len(sandbox.webhooks()['attempts'])} deliveries; outbound calls {dict(calls)}; "
        f"{len(sandbox.calls())} API calls seen by Link"
    )
    return Audit(
        mismatched=mismatched,
        created_twice=[eid for eid, o in link_orders.items() if o["created"] != 1],
        doubled=list(doubled),
        pending=OutboundCall.objects.filter(status="PENDING").count(),
        pause_keys_at_link={c["headers"]["Idempotency-Key"] for c in pauses},
        our_pause_keys=set(
            OutboundCall.objects.filter(kind="pause_store", store__venue_id=paused_venue).values_list(
                "idempotency_key", flat=True
            )
        ),
        summary=summary,
    )


def assert_nothing_lost_or_doubled(result: Audit, placing: Placing, orders: int) -> None:
    assert len(placing.placed) + sum(placing.refused.values()) == orders
    assert len(placing.placed) >= orders * 0.9
    assert Order.objects.filter(external_order_id__in=placing.placed).count() == len(placing.placed)
    assert not result.mismatched, result.mismatched[:10]
    assert not result.created_twice
    assert not result.doubled
    assert result.pending == 0
    assert result.our_pause_keys and result.pause_keys_at_link == result.our_pause_keys

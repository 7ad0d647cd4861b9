"""The scale bench's writes and API reads: placing an order and Link's first event for it, at size and on an
empty database (the targets compare the two), and ``GET /api/v1/orders/{id}/``.

Both writes go through Django's test client in this process, as the admin pages do: ``POST /api/v1/orders/``
(ORM broker: the submit call is queued in the database, nobody takes it) for the bench's own store with a
published menu, then a signed ``order.confirmed`` for that order to ``/link/webhooks/``, which applies it
(the order gains Link's id and is CONFIRMED). Each run places new orders, so the seeded rows stay as they are.
The two databases take turns, ``PLACED / ROUNDS`` orders at a time.
"""

import json
import os
import statistics
import time
import uuid

from .scale import EMPTY_NAME

PLACED = int(os.environ.get("BENCH_SCALE_PLACED", "60"))
ROUNDS = 6
SECRET = "whsec-bench-scale"
WITHIN = 0.2  # at size, at most 20% slower than on an empty database


def _api_client():
    from django.test import Client

    from integration.services.ops.api_clients import api_client_create

    token = api_client_create("bench-scale", permissions=["place_order", "cancel_order", "see_all_orders"]).token
    return Client(headers={"Authorization": f"Token {token}"})


def _bench_store() -> None:
    from integration.models import Store
    from tests.order_fixtures import make_store

    if not Store.objects.filter(venue_id="ven_bench_place").exists():
        make_store("ven_bench_place", "sf_bench_place")


def _place_and_confirm(client, n: int) -> tuple[list[float], list[float]]:
    """Seconds of each ``POST /api/v1/orders/`` and of each ``order.confirmed`` webhook for it."""
    from django.test import override_settings

    from integration.link import signatures
    from tests.conftest import envelope
    from tests.order_fixtures import order_request

    _bench_store()
    body = json.dumps(order_request("sf_bench_place"))
    placed, applied = [], []
    with override_settings(LINK_WEBHOOK_SECRETS=[SECRET]):
        for _ in range(n + 3):  # the first three warm up
            started = time.perf_counter()
            response = client.post(
                "/api/v1/orders/",
                data=body,
                content_type="application/json",
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            placed.append(time.perf_counter() - started)
            assert response.status_code == 201, response.content
            external_id = response.json()["external_order_id"]
            data = {"order_id": f"ord_{external_id}", "external_order_id": external_id, "prep_time_minutes": 12}
            raw = json.dumps(envelope("order.confirmed", data, venue_id="ven_bench_place")).encode()
            started = time.perf_counter()
            response = client.post(
                "/link/webhooks/",
                data=raw,
                content_type="application/json",
                headers={"Link-Signature": signatures.sign(raw, SECRET)},
            )
            applied.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content
    return placed[3:], applied[3:]


def _p50_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def flows(scale_url: str) -> list[str]:
    """Placement and webhook apply p50 at size against an empty database, in alternating rounds, so both
    meet the same load of a shared machine."""
    from django.core.management import call_command

    from .admin import _database
    from .common import scratch_database

    empty_url = scratch_database(EMPTY_NAME)
    with _database(empty_url):
        call_command("migrate", verbosity=0)
    at_size, empty = ([], []), ([], [])
    for _ in range(ROUNDS):
        for url, into in ((scale_url, at_size), (empty_url, empty)):
            with _database(url):
                placed, applied = _place_and_confirm(_api_client(), PLACED // ROUNDS)
            into[0].extend(placed)
            into[1].extend(applied)
    lines = []
    for name, size, base in (
        ("POST /api/v1/orders/", at_size[0], empty[0]),
        ("webhook order.confirmed", at_size[1], empty[1]),
    ):
        ratio = _p50_ms(size) / _p50_ms(base)
        verdict = "met" if ratio <= 1 + WITHIN else "NOT met"
        lines.append(
            f"{name:<40} p50 {_p50_ms(size):7.1f} ms at size vs {_p50_ms(base):7.1f} ms empty: x{ratio:.2f} "
            f"(within {WITHIN:.0%}: {verdict}), n={len(size)}"
        )
    return lines

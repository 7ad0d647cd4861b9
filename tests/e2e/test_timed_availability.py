"""Issue 28 end to end: the MP's own timed controls on a real stack (gunicorn, django-q2 workers with the
every-minute sweep, the Link sandbox, an MP service's webhook receiver)."""

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from dev.demo import MarketplaceClient, order_request_from_catalog
from dev.receiver import WebhookReceiver
from integration.services.ops.api_clients import api_client_create
from tests.waiting import wait_for

from .helpers import open_stores

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

MANAGER = ["place_order", "cancel_order", "manage_catalog", "manage_stores"]
QUIET_RESTAURANT = ("--seed", "28", "--no-auto")  # orders stay as Link took them: nothing else moves


def manager(stack) -> MarketplaceClient:
    return MarketplaceClient(stack.web_url, api_client_create("ops-tool", permissions=MANAGER).token)


def call(mp, method: str, path: str, body=None):
    return mp.session.request(method, f"{mp.api}/api/v1{path}", json=body, timeout=10)


def test_a_snooze_ends_by_itself_and_both_ends_are_announced(stack_factory):
    receiver = WebhookReceiver().start()
    try:
        stack = stack_factory(
            webhooks=True, sandbox_args=QUIET_RESTAURANT, env={"MP_WEBHOOK_HOSTS": receiver.url.split("/")[2]}
        )
        mp = manager(stack)
        answer = call(mp, "POST", "/webhook-endpoints/", {"url": receiver.url, "event_types": ["menu.updated"]})
        assert answer.status_code == 201, answer.text
        receiver.secrets = [answer.json()["secret"]]
        catalog = open_stores(stack, mp, 1, "z")["sf_z0"]
        body = order_request_from_catalog(catalog, "sf_z0", random.Random(28), lines=1)
        item_id = body["items"][0]["item_id"]

        until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
        path = f"/stores/sf_z0/menu/items/{item_id}/snooze/"
        answer = call(mp, "POST", path, {"until": until.isoformat()})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"item_id": item_id, "snoozed_until": until.isoformat().replace("+00:00", "Z")}

        refused = mp.place(body)
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "item_unavailable"
        assert error["details"][0]["returns_at"] == until.isoformat().replace("+00:00", "Z")
        shown = {i["id"]: i for c in mp.get("/stores/sf_z0/menu/").json()["categories"] for i in c["items"]}
        assert shown[item_id]["available"] is False and shown[item_id]["snoozed_until"]

        time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()))
        wait_for(
            lambda: (answer := mp.place(body)).status_code == 201 and answer,
            timeout=60,
            interval=2,
            what="the item to order again after its snooze, without any request",
        )
        back_after = (datetime.now(UTC) - until).total_seconds()
        shown = {i["id"]: i for c in mp.get("/stores/sf_z0/menu/").json()["categories"] for i in c["items"]}
        assert shown[item_id]["available"] is True and shown[item_id]["snoozed_until"] is None

        def snooze_events():
            return [
                d.body["data"]["snooze"]["event"]
                for d in receiver.accepted
                if d.body["type"] == "menu.updated" and "snooze" in d.body["data"]
            ]

        wait_for(lambda: snooze_events() == ["started", "ended"], timeout=150, interval=1, what="both menu.updated")
        ended_after = (datetime.now(UTC) - until).total_seconds()
        print(f"ordered again {back_after:.1f} s after the snooze's end; its end announced by {ended_after:.0f} s")
    finally:
        receiver.stop()


def test_special_hours_closing_today_refuse_orders_until_cleared(stack_factory):
    stack = stack_factory(sandbox_args=QUIET_RESTAURANT)
    mp = manager(stack)
    catalog = open_stores(stack, mp, 1, "h")["sf_h0"]  # the store's zone is UTC
    today = datetime.now(UTC).date().isoformat()
    answer = call(mp, "PUT", "/stores/sf_h0/special-hours/", [{"date": today, "closed": True}])
    assert answer.status_code == 200, answer.text
    assert call(mp, "GET", "/stores/sf_h0/special-hours/").json() == [{"date": today, "closed": True}]

    body = order_request_from_catalog(catalog, "sf_h0", random.Random(1))
    refused = mp.place(body)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "store_not_accepting" and error["details"]["reason_code"] == "special_hours"
    store = mp.get("/stores/sf_h0/").json()
    assert store["accepting_orders"] is False and store["not_accepting_code"] == "special_hours"
    assert store["not_accepting_reason"].startswith("special hours: closed all day")

    assert call(mp, "PUT", "/stores/sf_h0/special-hours/", []).status_code == 200
    assert mp.place(body).status_code == 201


def test_a_busy_cap_is_exact_under_concurrent_orders(stack_factory):
    stack = stack_factory(sandbox_args=QUIET_RESTAURANT, web_workers=4)
    mp = manager(stack)
    catalog = open_stores(stack, mp, 1, "b")["sf_b0"]
    answer = call(mp, "POST", "/stores/sf_b0/busy/", {"extra_prep_minutes": 15, "max_orders_per_15_min": 2})
    assert answer.status_code == 200, answer.text
    busy = mp.get("/stores/sf_b0/").json()["busy"]
    assert (busy["extra_prep_minutes"], busy["max_orders_per_15_min"], busy["until"]) == (15, 2, None)
    assert busy["set_by"] == {"via": "api", "who": "ops-tool", "trigger": None}

    rng = random.Random(2)
    bodies = [order_request_from_catalog(catalog, "sf_b0", rng) for _ in range(10)]
    start = threading.Barrier(10)

    def place(body):
        start.wait()
        return mp.place(body, key=uuid.uuid4().hex)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(place, bodies))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 2 + [409] * 8, [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.json()["error"]["code"] == "store_busy"
        assert 1 <= int(refused.headers["Retry-After"]) <= 900

    assert call(mp, "DELETE", "/stores/sf_b0/busy/").status_code == 204
    assert mp.get("/stores/sf_b0/").json()["busy"] is None
    assert mp.place(bodies[0]).status_code == 201

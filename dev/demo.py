"""The live demo and load tools: what a checkout service would send, driven against the sandbox."""

import logging
import random
import time
import uuid

import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from dev.receiver import WebhookReceiver, describe
from dev.sandbox.control import SandboxControl
from integration.services.mp_events.events import EVENT_TYPES
from integration.services.ops.api_clients import DEFAULT_CLIENT_PERMISSIONS, api_client_create
from integration.services.ops.roles import OPS, SUPPORT, roles_setup

logger = logging.getLogger("integration.demo")

DEMO_STORES = [
    {
        "venue_id": "ven_demo_burgers",
        "name": "Burger Barn",
        "timezone": "America/New_York",
        "external_store_id": "sf_burger_barn",
        "menu": {"items": 40, "groups": 8, "modifiers": 30, "depth": 2},
    },
    {
        "venue_id": "ven_demo_noodles",
        "name": "Noodle Nook",
        "timezone": "America/Los_Angeles",
        "external_store_id": "sf_noodle_nook",
        "menu": {"items": 60, "groups": 10, "modifiers": 40, "depth": 1},
    },
    {
        "venue_id": "ven_demo_tacos",
        "name": "Taco Tower",
        "timezone": "America/Chicago",
        "external_store_id": None,
        "menu": {"items": 25, "groups": 5, "modifiers": 20, "depth": 1},
    },
]
CUSTOMERS = [
    ("Ada L.", "+15555550100"),
    ("Grace H.", "+15555550101"),
    ("Alan T.", "+15555550102"),
    ("Edsger D.", "+15555550103"),
    ("Barbara L.", "+15555550104"),
]


def demo_setup(admin_password: str = "admin") -> str:
    """Create the demo admin, ``ops``/``ops`` (Restaurant ops) and ``support``/``support`` (Support),
    if missing, and the traffic generator's API token; returns the token."""
    users = get_user_model()
    if not users.objects.filter(username="admin").exists():
        users.objects.create_superuser("admin", "admin@example.com", admin_password)
    roles_setup()
    for name, group in (("ops", OPS), ("support", SUPPORT)):
        if not users.objects.filter(username=name).exists():
            user = users.objects.create_user(name, f"{name}@example.com", name, is_staff=True)
            user.groups.add(Group.objects.get(name=group))
    return api_client_create("demo-traffic", permissions=DEFAULT_CLIENT_PERMISSIONS).token


def _pick(rng: random.Random, group: dict, groups: dict, depth: int) -> list[dict]:
    available = [m for m in group["modifiers"] if m["available"]]
    want = group["min_selections"] or (1 if group["max_selections"] and rng.random() < 0.4 else 0)
    chosen = rng.sample(available, min(len(available), want, group["max_selections"] or want))
    picks = []
    for mod in chosen:
        nested = []
        if depth < 4:
            for gid in mod.get("modifier_group_ids", []):
                nested += _pick(rng, groups[gid], groups, depth + 1)
        picks.append({"modifier_id": mod["id"], "group_id": group["id"], "quantity": 1, "modifiers": nested})
    return picks


def order_request_from_catalog(catalog: dict, store_id: str, rng: random.Random, lines: int = 2) -> dict:
    """A valid order body for ``catalog`` (the catalog API's shape): available items, groups' minimums met."""
    groups = {g["id"]: g for g in catalog["modifier_groups"]}
    items = [i for c in catalog["categories"] for i in c["items"] if i["available"]]
    body_items = []
    for item in rng.sample(items, min(lines, len(items))):
        modifiers = []
        for gid in item["modifier_group_ids"]:
            modifiers += _pick(rng, groups[gid], groups, 1)
        body_items.append(
            {
                "item_id": item["id"],
                "quantity": rng.randint(1, 3),
                "modifiers": modifiers,
                "special_instructions": rng.choice(["", "", "no onions", "extra napkins"]),
            }
        )
    name, phone = rng.choice(CUSTOMERS)
    return {
        "store": store_id,
        "items": body_items,
        "customer": {"name": name, "phone": phone},
        "fulfillment": {"type": rng.choice(["pickup", "delivery"]), "scheduled_for": None},
        "tip": rng.choice([0, 100, 200, 300]),
        "notes": "",
    }


class MarketplaceClient:
    """The internal API as the MP's checkout service uses it."""

    def __init__(self, api: str, token: str):
        self.api = api.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.api}/api/v1{path}", timeout=10)

    def place(self, body: dict, key: str | None = None) -> requests.Response:
        headers = {"Idempotency-Key": key or uuid.uuid4().hex}
        return self.session.post(f"{self.api}/api/v1/orders/", json=body, headers=headers, timeout=10)

    def cancel(
        self, external_order_id: str, reason_code: str = "CUSTOMER_REQUEST", reason: str = ""
    ) -> requests.Response:
        return self.session.post(
            f"{self.api}/api/v1/orders/{external_order_id}/cancel/",
            json={"reason_code": reason_code, "reason": reason},
            timeout=10,
        )


def demo_connect(sandbox: SandboxControl) -> None:
    for store in DEMO_STORES:
        sandbox.connect_venue(
            store["venue_id"],
            name=store["name"],
            timezone=store["timezone"],
            external_store_id=store["external_store_id"],
        )
        sandbox.publish_menu(store["venue_id"], **store["menu"])  # the sandbox keys each menu by venue and --seed


def demo_traffic(
    api: str, sandbox_url: str, token: str, *, every: float = 3.0, seed: int = 1, rounds: int | None = None, echo=print
) -> None:
    """Connect the demo stores, publish their menus, then place an order every few seconds."""
    rng = random.Random(seed)
    sandbox = SandboxControl(sandbox_url)
    sandbox.set_restaurant(confirm_after=4, prep_after=6, ready_after=10, reject_rate=0.1, cancel_rate=0.05)
    demo_connect(sandbox)
    mp = MarketplaceClient(api, token)
    placed: list[str] = []
    n = 0
    while rounds is None or n < rounds:
        n += 1
        time.sleep(every)
        try:
            stores = [s for s in mp.get("/stores/").json()["results"] if s["accepting_orders"]]
            if not stores:
                echo("traffic: no store accepts orders yet (menus still loading?)")
                continue
            store = rng.choice(stores)
            catalog = mp.get(f"/stores/{store['id']}/menu/").json()
            resp = mp.place(order_request_from_catalog(catalog, store["id"], rng))
            if resp.status_code == 201:
                order = resp.json()
                placed.append(order["external_order_id"])
                echo(f"traffic: placed {order['display_code']} at {store['name']} total {order['totals']['total']}")
            else:
                echo(f"traffic: order refused {resp.status_code}: {resp.text[:200]}")
            if placed and rng.random() < 0.08:
                victim = placed.pop(rng.randrange(len(placed)))
                echo(f"traffic: customer cancels {victim}: {mp.cancel(victim, reason='changed my mind').status_code}")
        except requests.RequestException as exc:
            echo(f"traffic: {type(exc).__name__}: {exc}")


def demo_receiver_register(api: str, token: str, url: str) -> dict:
    """Register ``url`` for every event type as the traffic's client (replacing its own earlier one); the answer."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    endpoints = f"{api}/api/v1/webhook-endpoints/"
    for endpoint in session.get(endpoints, timeout=10).json():
        if endpoint["url"] == url:
            session.delete(f"{endpoints}{endpoint['id']}/", timeout=10)
    answer = session.post(
        endpoints, json={"url": url, "event_types": list(EVENT_TYPES), "description": "demo"}, timeout=10
    )
    if answer.status_code != 201:
        raise RuntimeError(f"registering {url} failed: {answer.status_code} {answer.text[:300]}")
    return answer.json()


def demo_receiver(api: str, token: str, *, port: int = 8200, echo=print) -> None:
    """The demo MP service: registers its endpoint through the API, then verifies every delivery with
    ``standardwebhooks`` and prints one line each, until interrupted."""
    receiver = WebhookReceiver(port=port, on_delivery=lambda d, a: echo(f"{a.status} {describe(d)}"))
    try:
        endpoint = demo_receiver_register(api, token, receiver.url)
        receiver.secrets = [endpoint["secret"]]
        echo(f"receiver: endpoint #{endpoint['id']} at {receiver.url}, {len(endpoint['event_types'])} event types")
        receiver.start()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()

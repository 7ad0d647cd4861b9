import random
import uuid
from concurrent.futures import ThreadPoolExecutor

from dev.demo import MarketplaceClient, order_request_from_catalog
from integration.link import routes
from integration.services.ops.api_clients import api_client_create
from tests.waiting import wait_for

# Link order status -> our state (contract section 3).
LINK_TO_STATE = routes.ORDER_STATUS_TO_STATE


def api_client(stack, name: str = "checkout", url: str | None = None) -> MarketplaceClient:
    return MarketplaceClient(url or stack.web_url, api_client_create(name).token)


def open_stores(stack, mp, count: int, prefix: str, *, timeout: float = 60) -> dict[str, dict]:
    """Connect ``count`` venues with generated menus and wait until all take orders; their catalogs by storefront."""
    for n in range(count):
        venue = f"ven_{prefix}{n}"
        stack.sandbox.connect_venue(venue, name=f"{prefix} {n}", timezone="UTC", external_store_id=f"sf_{prefix}{n}")
        stack.sandbox.publish_menu(venue, items=30, groups=6, modifiers=20, depth=2, seed=n)
    wait_for(
        lambda: sum(s["accepting_orders"] for s in mp.get("/stores/").json()["results"]) == count,
        timeout=timeout,
        what=f"{count} stores to accept orders",
    )
    return {f"sf_{prefix}{n}": mp.get(f"/stores/sf_{prefix}{n}/menu/").json() for n in range(count)}


def order_bodies(catalogs: dict[str, dict], count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    stores = [sorted(catalogs)[i % len(catalogs)] for i in range(count)]
    return [order_request_from_catalog(catalogs[store], store, rng) for store in stores]


def place_all(mp, bodies: list[dict], threads: int = 8) -> list[str]:
    """Place every order as fast as ``threads`` checkouts can; their external ids."""

    def place(body):
        resp = mp.place(body, key=uuid.uuid4().hex)
        assert resp.status_code == 201, resp.text
        return resp.json()["external_order_id"]

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(place, bodies))


def link_created_at(sandbox) -> dict[str, float]:
    """When Link created each order: the time of the first POST /v2/orders it answered 201."""
    created = {}
    for call in sandbox.calls(method="POST", path_prefix="/v2/orders"):
        eid = (call.get("body") or {}).get("external_order_id")
        if call["status"] == 201 and eid not in created:
            created[eid] = call["ts"]
    return created

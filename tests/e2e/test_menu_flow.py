"""Issue 3 end to end: the sandbox publishes, the worker fetches and ingests, the catalog API serves."""

import pytest

from integration.models import Menu
from tests.waiting import wait_for

from .helpers import api_client

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]


def test_published_menu_is_fetched_ingested_and_served(stack_factory):
    stack = stack_factory(sandbox_args=("--seed", "3", "--no-auto"))
    sandbox = stack.sandbox
    sandbox.connect_venue("ven_menu", name="Menu House", timezone="Europe/Paris", external_store_id="sf_menu")
    published = sandbox.publish_menu("ven_menu", items=120, groups=12, modifiers=50, depth=2, seed=5)
    menu = wait_for(
        lambda: Menu.objects.filter(store__venue_id="ven_menu", state="PUBLISHED").first(),
        timeout=40,
        what="the menu to be fetched and ingested",
    )
    assert menu.version == published["version"] and menu.item_count == 120

    mp = api_client(stack)
    catalog = mp.get("/stores/sf_menu/menu/")
    assert catalog.status_code == 200, catalog.text
    body = catalog.json()
    assert body["version"] == published["version"]
    assert sum(len(c["items"]) for c in body["categories"]) >= 120
    assert len(body["modifier_groups"]) == 12
    etag = catalog.headers["ETag"]
    assert mp.session.get(catalog.url, headers={"If-None-Match": etag}, timeout=10).status_code == 304

    sandbox.unpublish_menu("ven_menu")
    wait_for(
        lambda: Menu.objects.filter(store__venue_id="ven_menu", state="UNPUBLISHED").exists(),
        what="menu.unpublished to land",
    )
    assert mp.get("/stores/sf_menu/menu/").status_code == 404
    fetches = sandbox.calls(method="GET", path_prefix="/menus/")
    assert [c["status"] for c in fetches] == [200]

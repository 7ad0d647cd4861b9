"""Issue 25: the demo page's examples run as written: the sandbox's venue URL, and the order with a modifier
line (its JSON block read from docs/demo.md, the placeholders filled from the menu)."""

import json
import re
from pathlib import Path

import pytest
import requests

from dev.demo import demo_connect
from tests.e2e.helpers import api_client
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

DEMO = Path(__file__).resolve().parents[2] / "docs" / "demo.md"


def modifier_example() -> dict:
    """The JSON block of docs/demo.md that shows an order line with modifiers."""
    blocks = re.findall(r"```json\n(.*?)```", DEMO.read_text(), re.S)
    example = next(b for b in blocks if '"modifiers": [{"group_id"' in b)
    return example


def test_the_demo_pages_sandbox_url_and_order_with_a_modifier_line_work(stack_factory):
    stack = stack_factory(sandbox_args=("--seed", "1", "--no-auto"))
    demo_connect(stack.sandbox)
    mp = api_client(stack)
    wait_for(lambda: mp.get("/stores/sf_burger_barn/").json().get("accepting_orders"), what="Burger Barn to accept")

    # "curl -s localhost:8100/_sandbox/venues/ven_demo_burgers shows Link has it" (the port is the stack's)
    url = re.search(r"localhost:8100(/_sandbox/venues/ven_demo_burgers)", DEMO.read_text()).group(1)
    venue = requests.get(f"{stack.sandbox_url}{url}", timeout=10)
    assert venue.status_code == 200 and venue.json()["venue_id"] == "ven_demo_burgers"
    assert requests.get(f"{stack.sandbox_url}/_sandbox/venues/ven_nowhere", timeout=10).status_code == 404

    # The order example with a modifier line, its placeholders filled from the menu as a reader would.
    catalog = mp.get("/stores/sf_burger_barn/menu/").json()
    groups = {g["id"]: g for g in catalog["modifier_groups"]}
    item = next(
        i
        for c in catalog["categories"]
        for i in c["items"]
        if i["available"]
        and i["modifier_group_ids"]
        and all(groups[g]["min_selections"] == 0 for g in i["modifier_group_ids"][1:])
        and groups[i["modifier_group_ids"][0]]["min_selections"] <= 1
        and any(m["available"] and not m["modifier_group_ids"] for m in groups[i["modifier_group_ids"][0]]["modifiers"])
    )
    group = groups[item["modifier_group_ids"][0]]
    modifier = next(m for m in group["modifiers"] if m["available"] and not m["modifier_group_ids"])
    text = (
        modifier_example()
        .replace("<an item id>", item["id"])
        .replace("<a group of that item>", group["id"])
        .replace("<a modifier of that group>", modifier["id"])
    )
    body = json.loads(text)
    placed = mp.place(body, key="docs-example")
    assert placed.status_code == 201, placed.text
    line = placed.json()["lines"][0]
    assert line["modifiers"][0]["modifier_id"] == modifier["id"] and line["modifiers"][0]["name"] == modifier["name"]
    assert line["modifiers"][0]["unit_price"] == modifier["price"]
    assert line["unit_price"] == item["price"] + modifier["price"]

"""Issue 13 in a real browser: the dashboard's Link health turns red during a Link outage and green after
it, without a reload. ``CONSOLE_SCREENSHOTS=docs`` also saves the README's screenshots there."""

import os
import random
import threading
import time
import uuid

import pytest

from integration.demo import demo_setup, order_request_from_catalog
from tests.browser.test_ops_console import connect, login
from tests.e2e.harness import wait_for
from tests.e2e.helpers import api_client

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.postgres_only]

SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


def screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"console-{name}.png"), full_page=False)


class Traffic(threading.Thread):
    """A checkout placing an order every ``every`` seconds until stopped (HTTP only: no ORM here)."""

    def __init__(self, mp, catalog, store: str, every: float = 1.5):
        super().__init__(daemon=True)
        self.mp, self.catalog, self.store, self.every = mp, catalog, store, every
        self.stopped = threading.Event()
        self.placed = 0

    def run(self):
        rng = random.Random(4)
        while not self.stopped.is_set():
            body = order_request_from_catalog(self.catalog, self.store, rng)
            if self.mp.place(body, key=uuid.uuid4().hex).status_code == 201:
                self.placed += 1
            self.stopped.wait(self.every)

    def stop(self):
        self.stopped.set()
        self.join(10)


def level(page) -> str:
    return page.get_attribute("#link-health", "data-level")


def test_link_health_turns_red_in_an_outage_and_green_after_it_without_a_reload(stack_factory, browser_page):
    stack = stack_factory(sandbox_args=("--seed", "8"))
    connect(stack, "ven_lh_1", "Health Hut", "sf_lh_1")
    stack.sandbox.publish_menu("ven_lh_1", items=12, groups=3, modifiers=8, depth=1, seed=3)
    mp = api_client(stack)
    wait_for(lambda: mp.get("/stores/sf_lh_1/").json().get("accepting_orders"), what="the store to accept orders")
    traffic = Traffic(mp, mp.get("/stores/sf_lh_1/menu/").json(), "sf_lh_1")
    demo_setup()
    page = browser_page
    login(page, stack, "ops", "ops")
    traffic.start()
    try:
        page.wait_for_function("document.querySelector('#link-health').dataset.level === 'ok'", timeout=60_000)
        page.evaluate("window.__notReloaded = true")

        stack.sandbox.set_faults(error_rate=1.0)
        failing_from = time.monotonic()
        page.wait_for_function("document.querySelector('#link-health').dataset.level === 'down'", timeout=60_000)
        red_after = time.monotonic() - failing_from
        assert "Link is failing" in page.inner_text("#link-health .headline")
        assert "HTTP 5" in page.inner_text("#link-health .headline")
        page.wait_for_function("!document.querySelector('#health-not-at-link').innerText.startsWith('-')")
        assert page.inner_text("#health-share-5m").split("%")[0] not in ("-", "0")
        assert page.title().startswith("(")  # the title badge: something new needs a person
        screenshot(page, "dashboard-outage")

        stack.sandbox.clear_faults()
        clear_from = time.monotonic()
        page.wait_for_function("document.querySelector('#link-health').dataset.level === 'ok'", timeout=60_000)
        green_after = time.monotonic() - clear_from
        assert page.evaluate("window.__notReloaded") is True
        print(f"Link health: red {red_after:.1f} s after the outage began, green {green_after:.1f} s after it ended")
    finally:
        traffic.stop()
    assert traffic.placed > 5

"""Issue 13 in a real browser: the dashboard's Link health turns red during a Link outage and green after
it, without a reload. ``CONSOLE_SCREENSHOTS=docs`` also saves the README's screenshots there."""

import os
import random
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from dev.demo import demo_setup, order_request_from_catalog
from integration.models import Order
from tests.browser.test_ops_console import connect, login
from tests.e2e.helpers import api_client
from tests.waiting import wait_for

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


LISTS = ["order", "outboundcall", "webhookevent", "menu", "store"]


def overflow(page) -> dict:
    """How far the page and each list's results box scroll sideways (0: it fits)."""
    return page.evaluate(
        """() => {
            const root = document.documentElement;
            const out = {page: root.scrollWidth - root.clientWidth};
            document.querySelectorAll('.results, #board, #trends, #link-health, #ops-dashboard').forEach((box, i) => {
                out[(box.id || box.className) + i] = box.scrollWidth - box.clientWidth;
            });
            return out;
        }"""
    )


def columns(page) -> str:
    """The list's width and each column's, to tell which one is too wide."""
    return page.evaluate(
        """() => [
            document.querySelector('.results')?.clientWidth,
            ...[...document.querySelectorAll('#result_list thead th')].map(th => th.offsetWidth + ':' + th.innerText),
        ].join(' | ')"""
    )


def test_no_list_scrolls_sideways_at_1280_or_1440_and_the_charts_draw_data(stack_factory, browser_page):
    from tests.ops_data import ops_world, trend_world

    stack = stack_factory(sandbox_args=("--seed", "9", "--no-auto"))
    demo_setup()
    ops_world(40)
    trend_world(60)
    page = browser_page
    login(page, stack, "ops", "ops")
    for width in (1280, 1440):
        page.set_viewport_size({"width": width, "height": 900})
        for url in [f"/admin/integration/{name}/" for name in LISTS] + ["/admin/", "/admin/board/", "/admin/trends/"]:
            page.goto(f"{stack.web_url}{url}")
            too_wide = {box: px for box, px in overflow(page).items() if px > 0}
            assert too_wide == {}, (width, url, columns(page))
            if url == "/admin/board/" and width == 1280:
                screenshot(page, "board")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{stack.web_url}/admin/trends/?range=24h")
    bars = page.locator("#chart-orders rect.bar")
    assert bars.count() > 10
    last_day = Order.objects.filter(placed_at__gte=timezone.now() - timedelta(hours=24)).count()
    assert last_day >= 60
    assert sum(int(bar.get_attribute("data-value")) for bar in bars.all()) == last_day
    box = page.locator("#chart-orders svg").bounding_box()
    assert box["width"] > 800 and box["height"] > 100
    assert page.locator("#chart-latency circle.point").count() >= 10
    page.set_viewport_size({"width": 1280, "height": 1500})
    screenshot(page, "trends")

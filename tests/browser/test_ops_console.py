"""Issue 6 in a real browser: ops staff log in, act on stores, orders and menus, and the effects reach
the Link sandbox; support staff read everything and can act on nothing."""

import random
import re
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from dev.demo import demo_setup, order_request_from_catalog
from integration.models import Menu, Order, OutboundCall, Store
from tests.e2e.helpers import api_client
from tests.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.postgres_only]


def follow(page, selector) -> None:
    """Click something that loads a new page, and wait for that page."""
    with page.expect_navigation():
        page.click(selector) if isinstance(selector, str) else selector.click()


def login(page, stack, username: str, password: str) -> None:
    page.goto(f"{stack.web_url}/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    follow(page, "input[type=submit]")
    page.wait_for_selector("#ops-dashboard")


def card(page, stack, key: str) -> int:
    page.goto(f"{stack.web_url}/admin/")
    return int(page.get_attribute(f"#card-{key}", "data-count"))


def run_action(page, row_text: str, action: str) -> None:
    """Tick the row holding ``row_text`` on the current changelist and run ``action``."""
    page.locator("#result_list tbody tr", has_text=row_text).locator("input.action-select").check()
    page.select_option("select[name=action]", action)
    follow(page, "button[name=index]")


def messages(page) -> str:
    return page.inner_text("ul.messagelist")


def connect(stack, venue_id: str, name: str, external_store_id: str | None) -> Store:
    stack.sandbox.connect_venue(venue_id, name=name, timezone="UTC", external_store_id=external_store_id)
    return wait_for(lambda: Store.objects.filter(venue_id=venue_id).first(), what=f"{venue_id} to connect")


def test_ops_pause_a_store_with_a_reason_see_it_reach_link_then_resume_it(stack_factory, browser_page):
    stack = stack_factory(sandbox_args=("--seed", "5", "--no-auto"))
    connect(stack, "ven_br_1", "Browser Burgers", "sf_br_1")
    connect(stack, "ven_br_2", "Unmapped Udon", None)
    demo_setup()
    page = browser_page
    login(page, stack, "ops", "ops")
    assert card(page, stack, "store-paused") == 0
    assert card(page, stack, "store-unmapped") == 1
    assert "enter its MP storefront id" in page.inner_text("#card-store-unmapped")

    # The unmapped card lands on exactly that store.
    follow(page, "#card-store-unmapped a")
    assert "attention=unmapped" in page.url
    assert page.locator("#result_list tbody tr").count() == 1
    assert "Unmapped Udon" in page.inner_text("#result_list")

    # Pause: the action asks for a reason and an end on an intermediate form.
    page.goto(f"{stack.web_url}/admin/integration/store/")
    run_action(page, "Browser Burgers", "pause_stores")
    page.wait_for_selector("input[name=reason]")
    assert "Browser Burgers" in page.inner_text("#content-main")
    until = (timezone.now() + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    page.fill("input[name=reason]", "Kitchen flooded")
    page.fill("input[name=paused_until]", until)
    follow(page, "input[type=submit][value='Pause stores']")
    assert "Browser Burgers: paused; Link is being told" in messages(page)
    assert f"it resumes by itself at {until} UTC" in messages(page)
    row = page.inner_text("#result_list tbody tr:has-text('Browser Burgers')")
    assert "ops: Kitchen flooded until" in row

    wait_for(lambda: stack.sandbox.venue("ven_br_1")["status"] == "PAUSED", what="the pause to reach Link")
    assert stack.sandbox.venue("ven_br_1")["mp_pause_calls"] == 1
    assert card(page, stack, "store-paused") == 1
    # On the store's clock (UTC here), with seconds; the date only when it is not today there.
    shown = timezone.localtime(timezone.make_aware(datetime.strptime(until, "%Y-%m-%d %H:%M")))
    clock = (
        f"{shown:%H:%M}:00 UTC"
        if shown.date() == timezone.now().date()
        else f"{shown.day} {shown:%b} {shown:%H:%M}:00 UTC"
    )
    assert "Browser Burgers: ops, until" in page.inner_text("#card-store-paused")
    assert clock in page.inner_text("#card-store-paused") and "(Kitchen flooded)" in page.inner_text(
        "#card-store-paused"
    )

    # Resume from the list the dashboard card links to.
    follow(page, "#card-store-paused a")
    run_action(page, "Browser Burgers", "resume_stores")
    assert "Browser Burgers: resumed; Link is being told" in messages(page)
    wait_for(lambda: stack.sandbox.venue("ven_br_1")["status"] == "ACTIVE", what="the resume to reach Link")
    assert Store.objects.get(venue_id="ven_br_1").state == Store.State.ACTIVE
    assert card(page, stack, "store-paused") == 0

    # Both actions are in the admin log with the user, shown on the dashboard's "My actions".
    assert page.locator("#recent-actions-module li", has_text="Browser Burgers").count() == 2


def test_ops_cancel_an_order_with_a_reason_code_and_refresh_a_menu(stack_factory, browser_page):
    stack = stack_factory(sandbox_args=("--seed", "6", "--no-auto"))
    connect(stack, "ven_br_3", "Browser Bao", "sf_br_3")
    stack.sandbox.publish_menu("ven_br_3", items=12, groups=3, modifiers=8, depth=1, seed=3)
    mp = api_client(stack)
    wait_for(lambda: mp.get("/stores/sf_br_3/").json().get("accepting_orders"), what="the store to accept orders")
    catalog = mp.get("/stores/sf_br_3/menu/").json()
    placed = mp.place(order_request_from_catalog(catalog, "sf_br_3", random.Random(2)), key=uuid.uuid4().hex)
    assert placed.status_code == 201, placed.text
    external_id = placed.json()["external_order_id"]
    order = wait_for(
        lambda: Order.objects.filter(external_order_id=external_id, link_order_id__isnull=False).first(),
        what="Link to take the order",
    )
    demo_setup()
    page = browser_page
    login(page, stack, "ops", "ops")

    # Cancel: the action asks for Link's reason code.
    page.goto(f"{stack.web_url}/admin/integration/order/")
    run_action(page, order.display_code, "cancel_orders")
    page.wait_for_selector("select[name=reason_code]")
    page.select_option("select[name=reason_code]", "CUSTOMER_REQUEST")
    page.fill("input[name=reason]", "Customer called: ordered twice")
    follow(page, "input[type=submit][value='Cancel orders']")
    assert f"{order}: cancel requested; waiting for Link's answer" in messages(page)
    wait_for(
        lambda: Order.objects.get(pk=order.pk).state == Order.State.CANCELLED,
        what="Link to accept the cancel",
    )
    assert stack.sandbox.order(external_id)["status"] == "CANCELLED"

    # The order's timeline shows the ops action (with the user) beside the call it caused, linked.
    page.goto(f"{stack.web_url}/admin/integration/order/{order.pk}/change/")
    ops_row = page.locator("#order-timeline tr.timeline-ops")
    assert "Cancel orders: cancel requested" in ops_row.inner_text() and "by ops" in ops_row.inner_text()
    follow(page, page.locator("#order-timeline a", has_text="Cancel order #"))
    assert re.search(r"/admin/integration/outboundcall/\d+/change/", page.url)
    assert "Succeeded" in page.inner_text("#content-main")

    # Refresh a menu: the first fetch fails on Link's side, the dashboard says so; the second heals it.
    menu = Menu.objects.get(store__venue_id="ven_br_3")
    gets_before = len(stack.sandbox.calls(method="GET", path_prefix="/v2/venues/ven_br_3/menu"))
    assert card(page, stack, "menu-failed") == 0
    stack.sandbox.set_faults(fail_next=1, fail_status=400)
    page.goto(f"{stack.web_url}/admin/integration/menu/")
    run_action(page, "Browser Bao", "refresh_menus")
    assert "fetch queued as outbound call #" in messages(page)
    wait_for(lambda: Menu.objects.get(pk=menu.pk).last_error, what="the failed fetch to be recorded")
    assert card(page, stack, "menu-failed") == 1
    assert card(page, stack, "outboundcall-failed") == 1

    follow(page, "#card-menu-failed a")
    assert page.locator("#result_list tbody tr").count() == 1
    run_action(page, "Browser Bao", "refresh_menus")
    assert "fetch queued as outbound call #" in messages(page)
    wait_for(
        lambda: OutboundCall.objects.filter(kind="fetch_menu", status="SUCCEEDED", store=menu.store).count() == 2,
        what="the second refresh to succeed",
    )
    assert Menu.objects.get(pk=menu.pk).last_error == ""
    assert card(page, stack, "menu-failed") == 0
    assert len(stack.sandbox.calls(method="GET", path_prefix="/v2/venues/ven_br_3/menu")) == gets_before + 2


def test_support_reads_everything_sees_no_actions_and_is_refused_when_posting_one(stack_factory, browser_page):
    stack = stack_factory(sandbox_args=("--seed", "7", "--no-auto"))
    store = connect(stack, "ven_br_4", "Browser Bistro", "sf_br_4")
    demo_setup()
    page = browser_page
    login(page, stack, "support", "support")
    assert card(page, stack, "store-paused") == 0  # the dashboard is there to read

    for name in ("store", "order", "menu", "outboundcall", "webhookevent"):
        page.goto(f"{stack.web_url}/admin/integration/{name}/")
        assert page.locator("#changelist").count() == 1, name
        assert page.locator("select[name=action]").count() == 0, name
        assert page.locator("input.action-select").count() == 0, name
    page.goto(f"{stack.web_url}/admin/integration/store/{store.pk}/change/")
    assert "Browser Bistro" in page.inner_text("#content-main")
    assert page.locator("input[name=_save]").count() == 0

    # A hand-made action POST (as if the form were there) is refused, and nothing reaches Link.
    page.goto(f"{stack.web_url}/admin/integration/store/")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.evaluate(
            """([pk]) => {
                const form = document.createElement("form");
                form.method = "post";
                const fields = {
                    csrfmiddlewaretoken: document.querySelector("input[name=csrfmiddlewaretoken]").value,
                    action: "pause_stores", _selected_action: pk, apply: "1", reason: "not allowed",
                };
                for (const [name, value] of Object.entries(fields)) {
                    const input = document.createElement("input");
                    input.type = "hidden"; input.name = name; input.value = value;
                    form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }""",
            [str(store.pk)],
        )
    assert posted.value.status == 403
    assert Store.objects.get(pk=store.pk).state == Store.State.ACTIVE
    assert not OutboundCall.objects.filter(kind="pause_store").exists()
    assert stack.sandbox.venue("ven_br_4")["status"] == "ACTIVE"
    assert not stack.sandbox.calls(method="POST", path_prefix="/v2/venues/ven_br_4/pause")

"""The ops console: dashboard cards and the filters they link to, query counts, roles, timeline."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dev.demo import demo_setup
from integration import counting
from integration.models import Order, OutboundCall, Store, WebhookEvent
from integration.selectors.attention import ATTENTION, attention_counts
from integration.services.ops.roles import ACTIONS, OPS, ROLES, SUPPORT, roles_setup
from tests.ops_data import ops_world

pytestmark = pytest.mark.django_db

INDEX = "/admin/"


def cards(html: str) -> dict[str, tuple[int, str]]:
    """``{card id: (count, link)}`` from the dashboard's HTML."""
    found = re.findall(r'id="card-([\w-]+)" data-count="(\d+)">.*?<a href="([^"]+)"', html, re.S)
    return {key: (int(count), url.replace("&amp;", "&")) for key, count, url in found}


def rows(client, url: str) -> int:
    page = client.get(url)
    assert page.status_code == 200, url
    return page.content.count(b'class="action-select"')


def test_dashboard_counts_what_needs_a_person_and_each_card_lands_on_exactly_those_rows(client, ops, settings):
    settings.LINK_CONFIRM_DEADLINE = 600
    expected = ops_world(40, paused_by=ops)
    html = client.get(INDEX).content.decode()
    found = cards(html)
    found.pop("menu-snoozed_long", None)  # issue 28's forgotten snoozes: tests/admin/test_timed_admin.py
    keys = [
        "store-unmapped",
        "store-paused",
        "order-overdue",
        "order-failed",
        "order-cancel_refused",
        "outboundcall-failed",
        "webhookevent-failed",
        "webhookendpoint-failing",
        "webhookendpoint-disabled",
    ]
    if "menu-failed" in found:  # the menu admin comes with the menus work
        keys.append("menu-failed")
    if "menu-repriced" in found:  # issue 27; this world keeps no menu versions (tests/admin/test_menu_layer_admin.py)
        assert found.pop("menu-repriced")[0] == 0
    assert set(found) == set(keys)
    for key in keys:
        count, url = found[key]
        assert count == expected[key] > 0, key
        assert rows(client, url) == count, (key, url)
    # The app list stays below the dashboard.
    assert html.index('id="ops-dashboard"') < html.index('class="app-integration')


def test_dashboard_says_what_to_do_and_who_paused_until_when(client, ops):
    Store.objects.create(venue_id="ven_a", external_store_id=None, name="Unmapped Tacos")
    paused = Store.objects.create(venue_id="ven_b", external_store_id="sf_b", name="Paused Pies", state="PAUSED")
    Store.objects.filter(pk=paused.pk).update(pause_source="MP", paused_by=ops, pause_reason="oven broken")
    html = client.get(INDEX).content.decode()
    assert "enter its MP storefront id" in html
    assert "Paused Pies: ops-1, until resumed (oven broken)" in html
    assert html.count("Nothing to do.") == len(cards(html)) - 2


def test_dashboard_shows_support_the_cards_it_may_read_and_hides_them_from_others(client, support):
    assert "store-unmapped" in cards(client.get(INDEX).content.decode())
    nobody = User.objects.create_user("nobody", password="pw", is_staff=True)
    nobody.user_permissions.set(Permission.objects.filter(codename="view_store"))
    client.force_login(nobody)
    assert set(cards(client.get(INDEX).content.decode())) == {"store-unmapped", "store-paused"}


@pytest.mark.parametrize(
    "url",
    [INDEX, "/admin/integration/order/", "/admin/integration/store/", "/admin/integration/order/?attention=overdue"],
)
def test_lists_and_dashboard_take_the_same_number_of_queries_at_5_and_50_rows(client, ops, url):
    ops_world(5, paused_by=ops, prefix="a")
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    ops_world(45, paused_by=ops, prefix="b")
    assert Order.objects.count() == Store.objects.count() == 50
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(small) == len(large), [q["sql"][:150] for q in large.captured_queries]


def test_dashboard_counts_every_card_in_one_statement_each_count_bounded(client, ops, monkeypatch):
    expected = ops_world(30, paused_by=ops)
    models = list(dict.fromkeys(item.model for item in ATTENTION))
    with CaptureQueriesContext(connection) as queries:
        counts = attention_counts(models)  # the cards' counts (Link health above them has its own queries)
    assert len(queries) == 1 and queries[0]["sql"].count("LIMIT 1000") == len(ATTENTION)
    assert {f"{model._meta.model_name}-{key}": n for (model, key), n in counts.items() if n} == dict(expected)
    monkeypatch.setattr(counting, "CAP", 3)
    html = client.get(INDEX).content.decode()
    assert re.search(r'id="card-order-failed" data-count="3">\s*<div class="count">3\+</div>', html)


def test_order_search_by_external_id_and_phone_with_a_filter(client, ops):
    ops_world(16, paused_by=ops)
    order = Order.objects.filter(state="FAILED").order_by("pk").first()
    for term in (order.external_order_id, order.customer_phone):
        assert rows(client, f"/admin/integration/order/?q={term.replace('+', '%2B')}&state__exact=FAILED") == 1
        assert rows(client, f"/admin/integration/order/?q={term.replace('+', '%2B')}&state__exact=READY") == 0


# --- roles ------------------------------------------------------------------------------------------


def test_roles_hold_exactly_their_permissions_and_setup_is_idempotent(capsys):
    roles_setup()
    ops_group, support_group = Group.objects.get(name=OPS), Group.objects.get(name=SUPPORT)
    assert set(ops_group.permissions.values_list("codename", flat=True)) == set(ROLES[OPS])
    assert set(ACTIONS) <= set(ROLES[OPS])
    support_perms = set(support_group.permissions.values_list("codename", flat=True))
    assert support_perms and all(codename.startswith("view_") for codename in support_perms)

    support_group.permissions.add(Permission.objects.get(codename="cancel_order"))
    call_command("link_setup_roles")
    assert "Support: exists; removed cancel_order" in capsys.readouterr().out
    call_command("link_setup_roles")
    out = capsys.readouterr().out
    assert "Restaurant ops: exists; permissions already as defined" in out
    assert "Support: exists; permissions already as defined" in out
    assert Group.objects.filter(name__in=[OPS, SUPPORT]).count() == 2


def test_the_migration_made_the_groups():
    # The test database was built by running the migrations (0006_ops_roles among them).
    assert set(Group.objects.filter(name__in=[OPS, SUPPORT]).values_list("name", flat=True)) == {OPS, SUPPORT}


def test_demo_setup_makes_an_ops_and_a_support_user():
    demo_setup()
    demo_setup()  # twice changes nothing
    ops_user, support_user = User.objects.get(username="ops"), User.objects.get(username="support")
    assert ops_user.is_staff and ops_user.check_password("ops") and ops_user.groups.get().name == OPS
    assert support_user.is_staff and support_user.check_password("support")
    assert support_user.groups.get().name == SUPPORT
    assert ops_user.has_perm("integration.pause_store") and not support_user.has_perm("integration.pause_store")


ACTIONS_BY_LIST = {
    "store": ["pause_stores", "resume_stores", "sync_stores"],
    "order": ["cancel_orders", "retry_submissions", "reconcile_orders"],
    "outboundcall": ["retry_now"],
    "webhookevent": ["replay"],
}


@pytest.mark.parametrize("name", list(ACTIONS_BY_LIST))
def test_ops_see_every_action_and_support_none(client, ops, name):
    ops_world(3, paused_by=ops)
    url = f"/admin/integration/{name}/"
    html = client.get(url).content.decode()
    for action in ACTIONS_BY_LIST[name]:
        assert f'value="{action}"' in html
    assert 'value="delete_selected"' not in html
    support_user = User.objects.create_user("support-2", password="pw", is_staff=True)
    support_user.groups.add(Group.objects.get(name=SUPPORT))
    client.force_login(support_user)
    page = client.get(url)
    assert page.status_code == 200 and b'name="action"' not in page.content and b"action-select" not in page.content


@pytest.mark.parametrize(("name", "action"), [(n, a) for n, actions in ACTIONS_BY_LIST.items() for a in actions])
def test_an_action_posted_without_its_permission_is_refused(client, support, name, action):
    ops_world(3)
    model = {"store": Store, "order": Order, "outboundcall": OutboundCall, "webhookevent": WebhookEvent}[name]
    pks = list(model.objects.values_list("pk", flat=True))
    before = LogEntry.objects.count()
    resp = client.post(f"/admin/integration/{name}/", {"action": action, "_selected_action": pks, "apply": "1"})
    assert resp.status_code == 403
    assert LogEntry.objects.count() == before


# --- the order page -----------------------------------------------------------------------------------


def test_order_page_links_its_events_and_calls_and_shows_ops_actions(client, ops, no_broker):
    ops_world(2, paused_by=ops)
    order = Order.objects.filter(state="CONFIRMED").first() or Order.objects.first()
    Order.objects.filter(pk=order.pk).update(state="CONFIRMED", link_order_id="ord_tl", cancel_refused_at=None)
    client.post(
        "/admin/integration/order/",
        {"action": "cancel_orders", "_selected_action": [order.pk], "apply": "1", "reason_code": "OTHER"},
    )
    html = client.get(reverse("admin:integration_order_change", args=[order.pk])).content.decode()
    timeline = html[html.index('id="order-timeline"') :]
    call = OutboundCall.objects.filter(order=order, kind="submit_order").get()
    event = WebhookEvent.objects.get(external_order_id=order.external_order_id)
    assert f'href="/admin/integration/outboundcall/{call.pk}/change/"' in timeline
    assert f'href="/admin/integration/webhookevent/{event.pk}/change/"' in timeline
    assert "Cancel orders: cancel requested; waiting for Link" in timeline and "by ops-1" in timeline
    assert f'href="/admin/integration/order/{order.pk}/history/"' in timeline


@pytest.mark.parametrize("name", ["order", "outboundcall", "webhookevent"])
def test_big_lists_offer_no_per_choice_counts(client, ops, name):
    ops_world(2, paused_by=ops)
    with CaptureQueriesContext(connection) as plain:
        client.get(f"/admin/integration/{name}/")
    with CaptureQueriesContext(connection) as asked:
        page = client.get(f"/admin/integration/{name}/?_facets=1")
    assert page.status_code == 200 and b"Show counts" not in page.content
    assert len(asked) == len(plain)

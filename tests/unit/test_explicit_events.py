"""MP events come from the service that makes the change, in its transaction (issue 22): every order transition and
every store and menu change announces its event, a rolled-back change announces nothing, and nothing but
``move()`` can change an order's state."""

import ast
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import responses as responses_lib
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django_fsm_log.models import StateLog

from integration.link import payloads
from integration.models import NotificationEvent, Order, OutboundCall, Store
from integration.models.order import TransitionOutsideMove
from integration.services.link_events import webhook_receive
from integration.services.mp_events import events as n
from integration.services.orders.cancellation import order_cancel
from integration.services.orders.recovery import order_retry_submission
from integration.services.orders.transitions import move, order_save
from integration.services.outbox.calls import call_deliver
from integration.services.stores import (
    store_map,
    store_pause,
    store_resume,
    store_resume_expired_pauses,
    store_sync,
)
from tests.conftest import LINK, envelope, store_connected
from tests.menus import build_menu, every_day, publish_menu
from tests.order_fixtures import api_user, link_takes, make_store, order_event, place, submit_call

pytestmark = pytest.mark.django_db

S = Order.State
INTEGRATION = Path(__file__).resolve().parents[2] / "integration"
LATER = "2026-11-27T13:00:00Z"  # after the test menus' published_at


class RolledBack(Exception):
    pass


def _since(pk: int) -> list[NotificationEvent]:
    return list(NotificationEvent.objects.filter(pk__gt=pk).order_by("id"))


def announced(change) -> list[NotificationEvent]:
    """Run ``change`` in a transaction that rolls back (its events are there inside it, gone after), then for
    real; the events it made, which must be the same."""
    start = NotificationEvent.objects.aggregate(last=Max("id"))["last"] or 0
    with pytest.raises(RolledBack), transaction.atomic():
        change()
        inside = [e.type for e in _since(start)]
        raise RolledBack
    assert _since(start) == []
    change()
    events = _since(start)
    assert [e.type for e in events] == inside
    return events


def link_event(body: dict):
    """Apply one Link event in-process, as the webhook view does."""
    return webhook_receive(payloads.parse_envelope(body), json.dumps(body).encode(), {}).event


def summary(events) -> list[tuple]:
    """(type, the data that says what happened) per event."""
    out = []
    for e in events:
        if e.type == n.STORE_ACCEPTING_CHANGED:
            out.append((e.type, e.data["store"]["venue_id"], e.data["accepting"], e.data["reason"]))
        elif e.type == n.MENU_UPDATED:
            out.append((e.type, e.data["change"], e.data["version"], e.data["state"]))
        else:
            out.append((e.type, e.data["external_order_id"], e.data["state"]))
    return out


# --- orders ---------------------------------------------------------------------------------------


def test_every_order_transition_announces_the_state_it_enters(mocked_link):
    make_store()
    checkout = api_user()
    walked = set()

    def step(transition, change, expected):
        walked.add(transition)
        events = announced(change)
        assert summary(events) == expected
        return events

    def ours(order, *more):
        return [(t, order.external_order_id, state) for t, state in more]

    # submitted, confirmed (with its ETA), preparing (+ a new ETA), a bare ETA change, ready
    a = place(user=checkout)
    events = announced(lambda: link_takes(mocked_link, a, "ord_a"))
    assert summary(events) == ours(a, (n.ORDER_SUBMITTED, S.PENDING)) and events[0].data["link_order_id"] == "ord_a"
    events = step(
        "confirm",
        lambda: order_event("order.confirmed", a, prep_time_minutes=15, estimated_ready_at="2026-11-27T12:20:00Z"),
        ours(a, (n.ORDER_CONFIRMED, S.CONFIRMED)),  # the confirmation carries the ETA: no eta_changed beside it
    )
    assert events[0].data["times"]["estimated_ready_at"] == "2026-11-27T12:20:00Z"
    events = step(
        "start_prep",
        lambda: order_event("order.preparing", a, estimated_ready_at="2026-11-27T12:25:00Z"),
        ours(a, (n.ORDER_PREPARING, S.IN_PREP), (n.ORDER_ETA_CHANGED, S.IN_PREP)),
    )
    assert events[1].data["times"]["estimated_ready_at"] == "2026-11-27T12:25:00Z"
    events = announced(lambda: order_event("order.preparing", a, estimated_ready_at="2026-11-27T12:40:00Z"))
    assert summary(events) == ours(a, (n.ORDER_ETA_CHANGED, S.IN_PREP))
    step("mark_ready", lambda: order_event("order.ready", a), ours(a, (n.ORDER_READY, S.READY)))
    assert [e.data["sequence"] for e in NotificationEvent.objects.filter(order=a).order_by("id")] == [1, 2, 3, 4, 5, 6]

    # rejected by the restaurant, with its reason
    b = link_takes(mocked_link, place(user=checkout), "ord_b")
    events = step(
        "reject",
        lambda: order_event("order.rejected", b, reason_code="ITEM_UNAVAILABLE", reason="out of buns"),
        ours(b, (n.ORDER_REJECTED, S.REJECTED)),
    )
    assert (events[0].data["reason_code"], events[0].data["reason"]) == ("ITEM_UNAVAILABLE", "out of buns")

    # cancelled: by Link, and by the MP once Link agrees
    c = link_takes(mocked_link, place(user=checkout), "ord_c")
    step("cancel", lambda: order_event("order.cancelled", c), ours(c, (n.ORDER_CANCELLED, S.CANCELLED)))
    d = link_takes(mocked_link, place(user=checkout), "ord_d")
    assert announced(lambda: order_cancel(d, reason_code="CUSTOMER_REQUEST")) == []  # requested: not news yet
    mocked_link.add(responses_lib.POST, f"{LINK}/v2/orders/ord_d/cancel", json={"status": "CANCELLED"})
    cancel_call = OutboundCall.objects.get(order=d, kind=OutboundCall.Kind.CANCEL_ORDER)
    events = announced(lambda: call_deliver(cancel_call.pk, inline_wait=0))
    assert summary(events) == ours(d, (n.ORDER_CANCELLED, S.CANCELLED))
    assert events[0].data["cancel"]["status"] == "cancelled"

    # a cancel refused: the order became READY first
    e = link_takes(mocked_link, place(user=checkout), "ord_e")
    order_cancel(e, reason_code="CUSTOMER_REQUEST")
    events = announced(lambda: order_event("order.ready", e))
    assert summary(events) == ours(e, (n.ORDER_READY, S.READY), (n.ORDER_CANCEL_REFUSED, S.READY))
    assert events[1].data["cancel"]["status"] == "refused"

    # failed: Link never took it; a retried submission goes back to PENDING, which is not news
    f = place(user=checkout)
    mocked_link.add(
        responses_lib.POST, f"{LINK}/v2/orders", json={"error": {"code": "store_closed", "message": "no"}}, status=422
    )
    step("fail", lambda: call_deliver(submit_call(f).pk, inline_wait=0), ours(f, (n.ORDER_FAILED, S.FAILED)))
    step("retry_submission", lambda: order_retry_submission(f), [])
    assert Order.objects.get(pk=f.pk).state == S.PENDING

    every = {t.name for t in Order._meta.get_field("state").get_all_transitions(Order)}
    assert walked == every


def test_a_transition_outside_move_is_refused(mocked_link):
    make_store()
    order = place(user=api_user())
    with pytest.raises(TransitionOutsideMove, match=r"move\(order, 'confirm'"):
        order.confirm(description="around the door")
    assert order.state == S.PENDING
    assert not StateLog.objects.filter(content_type=ContentType.objects.get_for_model(Order), object_id=order.pk)
    with pytest.raises(AttributeError, match="Direct state modification is not allowed"):
        order.state = S.CONFIRMED
    assert Order.objects.get(pk=order.pk).state == S.PENDING


def test_the_door_logs_announces_and_loading_still_works(mocked_link):
    make_store()
    order = link_takes(mocked_link, place(user=api_user()), "ord_1")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        move(locked, "confirm", "test: through the door")
        order_save(locked)
    order.refresh_from_db()  # a protected state still reloads (FSMModelMixin)
    assert order.state == S.CONFIRMED
    assert Order.objects.only("pk").get(pk=order.pk).state == S.CONFIRMED  # and loads when deferred
    assert NotificationEvent.objects.filter(order=order).latest("id").type == n.ORDER_CONFIRMED


def _calls(tree, method: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method:
            yield node


def _python_files():
    return sorted(p for p in INTEGRATION.rglob("*.py") if "migrations" not in p.parts)


def test_no_code_updates_an_orders_state_in_bulk():
    """A ``queryset.update(state=...)`` on orders would skip the door (and its events): none in integration/."""
    offenders = []
    for path in _python_files():
        tree = ast.parse(path.read_text())
        for call in _calls(tree, "update"):
            receiver = ast.unparse(call.func.value)
            sets_state = any(k.arg == "state" or k.arg is None for k in call.keywords)
            if sets_state and re.search(r"order", receiver, re.IGNORECASE):
                offenders.append(f"{path.relative_to(INTEGRATION)}:{call.lineno}: {ast.unparse(call)}")
        for call in _calls(tree, "bulk_update"):
            if re.search(r"order", ast.unparse(call), re.IGNORECASE) and "state" in ast.unparse(call):
                offenders.append(f"{path.relative_to(INTEGRATION)}:{call.lineno}: {ast.unparse(call)}")
    assert offenders == []


def test_orders_are_saved_only_by_order_save_and_no_model_signal_announces():
    saves = []
    for path in _python_files():
        tree = ast.parse(path.read_text())
        for function in (f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)):
            for call in _calls(function, "save"):
                if "order" in ast.unparse(call.func.value).lower():
                    saves.append(f"{path.relative_to(INTEGRATION)}:{function.name}")
    assert sorted(set(saves)) == ["services/orders/transitions.py:order_save"]
    watchers = [
        f"{path.relative_to(INTEGRATION)}"
        for path in _python_files()
        if re.search(r"post_save|post_init", path.read_text())
    ]
    assert watchers == []


def test_services_never_import_the_api_or_the_admin():
    offenders = []
    for path in sorted((INTEGRATION / "services").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            offenders += [name for name in names if name.startswith(("integration.api", "integration.admin"))]
    assert offenders == []


# --- stores and menus -----------------------------------------------------------------------------


def test_every_store_and_menu_change_announces_itself(mocked_link, admin_client):
    def venue(accepting, reason):
        return (n.STORE_ACCEPTING_CHANGED, "ven_1", accepting, reason)

    # connected without a menu: not accepting, which MP services assume of a store never announced
    assert announced(lambda: link_event(store_connected("ven_1", "sf_1"))) == []
    store = Store.objects.get(venue_id="ven_1")

    # a menu published: the menu, then the store taking orders; a new version: the menu alone
    events = announced(lambda: publish_menu(store, version=1, hours=every_day()))
    assert summary(events) == [(n.MENU_UPDATED, "published", 1, "PUBLISHED"), venue(True, "accepting")]
    events = announced(lambda: publish_menu(store, version=2, hours=every_day(), item_price=999))
    assert summary(events) == [(n.MENU_UPDATED, "published", 2, "PUBLISHED")]

    # availability: what changed, no new version
    item_id = build_menu()["items"][0]["id"]
    body = {"menu_id": "men_1", "items": [{"id": item_id, "available": False}], "modifiers": []}
    events = announced(lambda: link_event(envelope("menu.availability_changed", body, created_at=LATER)))
    assert summary(events) == [(n.MENU_UPDATED, "availability", 2, "PUBLISHED")]
    assert events[0].data["items"] == [{"id": item_id, "available": False}]

    # paused and resumed by the restaurant on Link, and by the MP
    events = announced(lambda: link_event(envelope("store.paused", {"reason": "kitchen fire"})))
    assert summary(events) == [venue(False, "paused")] and events[0].data["detail"] == "paused: kitchen fire"
    assert summary(announced(lambda: link_event(envelope("store.resumed", {})))) == [venue(True, "resumed")]
    assert summary(announced(lambda: store_pause(store, reason="short staffed"))) == [venue(False, "paused")]
    assert summary(announced(lambda: store_resume(store))) == [venue(True, "resumed")]
    OutboundCall.objects.filter(store=store).update(status=OutboundCall.Status.SUCCEEDED)

    # a pause that ended by itself
    link_event(envelope("store.paused", {"reason": "rush", "paused_until": LATER}))
    Store.objects.filter(pk=store.pk).update(paused_until=timezone.now() - timedelta(minutes=1))
    assert summary(announced(store_resume_expired_pauses)) == [venue(True, "resumed")]

    # aligned with Link's status by a sync
    mocked_link.add(responses_lib.GET, f"{LINK}/v2/venues/ven_1", json={"venue_id": "ven_1", "status": "PAUSED"})
    assert summary(announced(lambda: store_sync(store))) == [venue(False, "paused")]
    mocked_link.replace(responses_lib.GET, f"{LINK}/v2/venues/ven_1", json={"venue_id": "ven_1", "status": "ACTIVE"})
    assert summary(announced(lambda: store_sync(store))) == [venue(True, "resumed")]

    # unmapped and mapped again by ops (the service, and the admin's store page through it)
    assert summary(announced(lambda: store_map(store, None))) == [venue(False, "unmapped")]
    assert summary(announced(lambda: store_map(store, "sf_1"))) == [venue(True, "mapped")]
    page = f"/admin/integration/store/{store.pk}/change/"
    form = {"name": "Renamed", "external_store_id": "", "timezone": "America/New_York", "address": "{}"}
    events = announced(lambda: admin_client.post(page, form))
    assert summary(events) == [venue(False, "unmapped")]
    assert Store.objects.get(pk=store.pk).name == "Renamed"
    form["external_store_id"] = "sf_1"
    assert summary(announced(lambda: admin_client.post(page, form))) == [venue(True, "mapped")]

    # disconnected and reconnected by Link
    gone = envelope("store.disconnected", {"reason": "contract ended", "in_flight": "complete"})
    assert summary(announced(lambda: link_event(gone))) == [venue(False, "disconnected")]
    assert summary(announced(lambda: link_event(store_connected("ven_1", "sf_1")))) == [venue(True, "reconnected")]

    # the menu unpublished: the menu, then the store
    unpublished = envelope("menu.unpublished", {"menu_id": "men_1"}, created_at=LATER)
    events = announced(lambda: link_event(unpublished))
    assert summary(events) == [(n.MENU_UPDATED, "unpublished", 2, "UNPUBLISHED"), venue(False, "menu_unpublished")]

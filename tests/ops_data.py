"""Varied stores, menus, orders, calls and events for the ops console tests, and what the dashboard should count."""

from collections import Counter
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from integration.models import CallAttempt, Menu, Order, OutboundCall, Store, WebhookEndpoint, WebhookEvent

S = Order.State


def ops_world(n: int, *, paused_by=None, prefix: str = "w") -> Counter:
    """``n`` stores and ``n`` orders (with a submit call and an event each) in every state the
    dashboard cares about, bulk-inserted; returns the expected card counts, keyed ``model-key``."""
    now = timezone.now()
    old, overdue, fresh = now - timedelta(days=3), now - timedelta(hours=2), now - timedelta(seconds=30)
    expected = Counter()
    stores = []
    for i in range(n):
        state = [Store.State.ACTIVE, Store.State.PAUSED, Store.State.DISCONNECTED][i % 3]
        mapped = i % 4 != 0
        store = Store(
            venue_id=f"ven_{prefix}{i:04d}",
            external_store_id=f"sf_{prefix}{i:04d}" if mapped else None,
            name=f"Store {prefix}{i}",
            state=state,
        )
        if state == Store.State.PAUSED:
            by_link = i % 2 == 0
            store.pause_source = Store.PauseSource.LINK if by_link else Store.PauseSource.MP
            store.paused_by = None if by_link else paused_by
            store.pause_reason = "storm" if by_link else "no drivers"
            store.paused_at = now - timedelta(minutes=i)
            store.paused_until = now + timedelta(hours=2) if i % 5 else None
            expected["store-paused"] += 1
        if not mapped and state != Store.State.DISCONNECTED:
            expected["store-unmapped"] += 1
        stores.append(store)
    stores = Store.objects.bulk_create(stores)

    menus = []
    for i, store in enumerate(stores):
        broken = i % 3 == 1
        menus.append(
            Menu(
                store=store,
                menu_id=f"men_{store.venue_id}",
                version=1,
                state=Menu.State.PUBLISHED,
                last_error="fetching the menu failed: 503" if broken else "",
                last_error_at=now if broken else None,
            )
        )
        expected["menu-failed"] += broken
    Menu.objects.bulk_create(menus)

    kinds = [
        {"state": S.PENDING, "placed_at": overdue, "pending_since": overdue, "submitted_at": overdue},  # too late
        {
            "state": S.PENDING,
            "placed_at": overdue,
            "pending_since": None,
            "submitted_at": overdue,
        },  # from before pending_since: placed_at counts
        {"state": S.PENDING, "placed_at": overdue, "pending_since": fresh, "submitted_at": fresh},  # retried
        {"state": S.PENDING, "placed_at": overdue, "pending_since": overdue},  # not at Link yet: no confirm clock
        {"state": S.CONFIRMED, "placed_at": fresh, "cancel_refused_at": now, "cancel_requested_at": fresh},
        {"state": S.READY, "placed_at": old},
        {"state": S.FAILED, "placed_at": fresh},
        {"state": S.FAILED, "placed_at": old},  # outside the dashboard's window
        {"state": S.CANCELLED, "placed_at": old, "cancel_refused_at": old},  # refused long ago: not counted
    ]
    orders = []
    for i in range(n):
        fields = kinds[i % len(kinds)]
        orders.append(
            Order(
                store=stores[i % len(stores)],
                customer_phone=f"+1555{i:07d}",
                total=1000 + i,
                link_order_id=f"ord_{prefix}{i}" if i % 4 < 2 else None,
                **fields,
            )
        )
        overdue_since = fields.get("pending_since") or fields["placed_at"]
        if fields["state"] == S.PENDING and fields.get("submitted_at") and overdue_since == overdue:
            expected["order-overdue"] += 1
        if fields["state"] == S.FAILED and fields["placed_at"] == fresh:
            expected["order-failed"] += 1
        if fields.get("cancel_refused_at") == now:
            expected["order-cancel_refused"] += 1
    orders = Order.objects.bulk_create(orders)

    calls, events = [], []
    for i, order in enumerate(orders):
        status = [OutboundCall.Status.SUCCEEDED, OutboundCall.Status.FAILED, OutboundCall.Status.PENDING][i % 3]
        completed = None if status == OutboundCall.Status.PENDING else (old if i % 6 == 4 else now)
        calls.append(
            OutboundCall(
                kind=OutboundCall.Kind.SUBMIT_ORDER,
                path="/v2/orders",
                order=order,
                store=order.store,
                status=status,
                completed_at=completed,
                last_error="HTTP 422" if status == OutboundCall.Status.FAILED else "",
                next_attempt_at=now,
                deadline=now + timedelta(minutes=5),
            )
        )
        # A failed submission is settled once Link has the order (its id arrived with an event), or by a
        # later submission that did not fail (a retry).
        retried = status == OutboundCall.Status.FAILED and i % 24 == 7
        unsettled = status == OutboundCall.Status.FAILED and completed == now and order.link_order_id is None
        expected["outboundcall-failed"] += unsettled and not retried
        event_status = [WebhookEvent.Status.PROCESSED, WebhookEvent.Status.FAILED, WebhookEvent.Status.IGNORED][i % 3]
        events.append(
            WebhookEvent(
                event_id=f"evt_{prefix}{i}",
                type="order.confirmed",
                venue_id=order.store.venue_id,
                external_order_id=order.external_order_id,
                body="{}",
                status=event_status,
            )
        )
        expected["webhookevent-failed"] += event_status == WebhookEvent.Status.FAILED
    retries = [
        OutboundCall(
            kind=call.kind,
            path=call.path,
            order=call.order,
            store=call.store,
            status=OutboundCall.Status.SUCCEEDED,
            completed_at=now,
            next_attempt_at=now,
            deadline=call.deadline,
        )
        for i, call in enumerate(calls)
        if call.status == OutboundCall.Status.FAILED and i % 24 == 7
    ]
    OutboundCall.objects.bulk_create(calls + retries)
    WebhookEvent.objects.bulk_create(events)
    _endpoints(n, prefix, now, expected)
    return expected


def _endpoints(n: int, prefix: str, now, expected: Counter) -> None:
    client = get_user_model().objects.create(username=f"mp-service-{prefix}")
    kinds = [
        {},
        {"failing_since": now - timedelta(hours=2)},  # failing for over an hour
        {"failing_since": now - timedelta(minutes=5)},
        {"enabled": False, "auto_disabled": True, "disabled_reason": "answered 410 Gone"},
        {"enabled": False, "disabled_reason": "disabled by its client"},
    ]
    endpoints = []
    for i in range(n):
        fields = kinds[i % len(kinds)]
        endpoints.append(WebhookEndpoint(client=client, url=f"https://hooks.mp.test/{prefix}{i}", **fields))
        expected["webhookendpoint-failing"] += i % len(kinds) == 1
        expected["webhookendpoint-disabled"] += i % len(kinds) == 3
    WebhookEndpoint.objects.bulk_create(endpoints)


def trend_world(n: int, *, prefix: str = "t") -> dict:
    """``n`` orders spread over the last 20 hours, in every outcome, with kitchen times and a submit call
    and its tries each; returns what the charts should show."""
    now = timezone.now()
    store = Store.objects.create(venue_id=f"ven_{prefix}", external_store_id=f"sf_{prefix}", name=f"Trend {prefix}")
    outcomes = [S.READY, S.READY, S.READY, S.REJECTED, S.CANCELLED, S.FAILED, S.CONFIRMED, S.IN_PREP]
    orders = []
    for i in range(n):
        placed = now - timedelta(hours=i % 20, minutes=10)
        state = outcomes[i % len(outcomes)]
        kitchen = state in (S.READY, S.CONFIRMED, S.IN_PREP)
        confirmed = placed + timedelta(seconds=1 + 4 + i % 5)
        orders.append(
            Order(
                store=store,
                state=state,
                placed_at=placed,
                total=1000 + i,
                link_order_id=None if state == S.FAILED else f"ord_trend_{prefix}{i}",
                submitted_at=placed + timedelta(seconds=1) if kitchen else None,
                confirmed_at=confirmed if kitchen else None,
                ready_at=confirmed + timedelta(minutes=12) if state == S.READY else None,
            )
        )
    orders = Order.objects.bulk_create(orders)
    calls = OutboundCall.objects.bulk_create(
        OutboundCall(
            kind=OutboundCall.Kind.SUBMIT_ORDER,
            path="/v2/orders",
            order=order,
            store=store,
            status=OutboundCall.Status.SUCCEEDED,
            next_attempt_at=now,
            deadline=now,
        )
        for order in orders
    )
    attempts = []
    for call, order in zip(calls, orders, strict=True):
        for number, (outcome, code) in enumerate([("retriable", 503), ("success", 201)], start=1):
            attempts.append(
                CallAttempt(
                    call=call,
                    number=number,
                    started_at=order.placed_at + timedelta(seconds=number),
                    duration_ms=40 * number,
                    request_method="POST",
                    request_url="/v2/orders",
                    status_code=code,
                    outcome=outcome,
                )
            )
    CallAttempt.objects.bulk_create(attempts)
    return {"store": store, "orders": n, "tries": 2 * n}


WEEK_OUTCOMES = [S.READY, S.READY, S.READY, S.REJECTED, S.CANCELLED, S.FAILED, S.CONFIRMED, S.IN_PREP, S.PENDING]


def week_world(n: int, now, *, prefix: str = "w", days: float = 8) -> list[Store]:
    """``n`` orders over the last ``days`` across three stores, every outcome, confirm and prep times and
    latencies that vary, a submit call with one or two tries each."""
    stores = [
        Store.objects.create(venue_id=f"ven_{prefix}{i}", external_store_id=f"sf_{prefix}{i}", name=f"{prefix}{i}")
        for i in range(3)
    ]
    span = timedelta(days=days) / n
    orders = []
    for i in range(n):
        placed = now - span * (i + 1)
        state = WEEK_OUTCOMES[i % len(WEEK_OUTCOMES)]
        taken = state != S.FAILED
        confirmed = placed + timedelta(seconds=3 + (i * 7) % 41) if state not in (S.FAILED, S.PENDING) else None
        cooked = state in (S.READY, S.REJECTED) and i % 4 != 0
        orders.append(
            Order(
                store=stores[i % 3],
                state=state,
                placed_at=placed,
                link_order_id=f"ord_{prefix}{i}" if taken else None,
                submitted_at=placed + timedelta(seconds=1) if taken else None,
                confirmed_at=confirmed,
                ready_at=confirmed + timedelta(minutes=5 + (i * 13) % 23) if confirmed and cooked else None,
            )
        )
    orders = Order.objects.bulk_create(orders)
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(updated_at=F("placed_at"))  # long settled
    calls = OutboundCall.objects.bulk_create(
        OutboundCall(
            kind=OutboundCall.Kind.SUBMIT_ORDER,
            path="/v2/orders",
            order=order,
            store=order.store,
            status=OutboundCall.Status.SUCCEEDED,
            next_attempt_at=now,
            deadline=now,
        )
        for order in orders
    )
    tries = []
    for i, (call, order) in enumerate(zip(calls, orders, strict=True)):
        outcomes = [("retriable", 503), ("success", 201)] if i % 3 == 0 else [("success", 201)]
        for number, (outcome, code) in enumerate(outcomes, start=1):
            tries.append(
                CallAttempt(
                    call=call,
                    number=number,
                    started_at=order.placed_at + timedelta(seconds=number),
                    duration_ms=20 + (i * 37 + number * 11) % 400,
                    request_method="POST",
                    request_url="/v2/orders",
                    status_code=code,
                    outcome=outcome,
                )
            )
    CallAttempt.objects.bulk_create(tries)
    return stores

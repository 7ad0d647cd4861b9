"""Retention (issue 15): what is older than its setting goes, in batches; nothing still in play ever does."""

import importlib
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.utils import timezone
from django_fsm_log.models import StateLog
from django_q.models import Schedule, Task

from integration import tasks
from integration.models import CallAttempt, NotificationEvent, Order, OrderLine, OutboundCall, WebhookEvent
from integration.services.ops.retention import retention_prune
from integration.services.orders.transitions import move
from tests.factories import OutboundCallFactory
from tests.order_fixtures import make_store, place

pytestmark = pytest.mark.django_db

OLD = timezone.now() - timedelta(days=40)


@pytest.fixture(autouse=True)
def retention(settings):
    settings.RETAIN_WEBHOOK_DAYS = 30
    settings.RETAIN_CALL_ATTEMPT_DAYS = 30
    settings.RETAIN_TASK_DAYS = 7
    settings.RETAIN_ORDER_DAYS = 30
    settings.RETAIN_BATCH_SIZE = 2  # several batches even for these few rows
    return settings


def event(n: int, status: str, received_at) -> WebhookEvent:
    e = WebhookEvent.objects.create(event_id=f"evt_{n}", type="order.ready", body="{}", status=status)
    WebhookEvent.objects.filter(pk=e.pk).update(received_at=received_at)
    return e


def call_with_attempts(status: str, completed_at, order=None) -> OutboundCall:
    call = OutboundCallFactory(status=status, completed_at=completed_at, order=order)
    for number in (1, 2):
        CallAttempt.objects.create(call=call, number=number, started_at=OLD, request_method="POST", outcome="success")
    return call


def task(n: int, stopped) -> Task:
    return Task.objects.create(
        id=f"task{n:028d}", name=f"t{n}", func="integration.tasks.sweep", started=stopped, stopped=stopped, success=True
    )


def closed_order(state="READY", placed_at=OLD) -> Order:
    order = place()
    move(order, {"READY": "mark_ready", "FAILED": "fail"}[state], "test")
    order.save()
    Order.objects.filter(pk=order.pk).update(placed_at=placed_at)
    OutboundCall.objects.filter(order=order).update(status="SUCCEEDED", completed_at=placed_at)
    return order


@pytest.fixture
def seeded():
    make_store()
    now = timezone.now()
    rows = {
        "old_applied": [event(1, "PROCESSED", OLD), event(2, "IGNORED", OLD), event(3, "PROCESSED", OLD)],
        "old_unapplied": [event(4, "FAILED", OLD), event(5, "RECEIVED", OLD)],
        "new_applied": [event(6, "PROCESSED", now)],
        "old_settled": [call_with_attempts("SUCCEEDED", OLD), call_with_attempts("FAILED", OLD)],
        "old_pending": [call_with_attempts("PENDING", None)],
        "new_settled": [call_with_attempts("SUCCEEDED", now)],
        "old_tasks": [task(1, OLD), task(2, OLD), task(3, OLD)],
        "new_tasks": [task(4, now)],
        "old_closed": [closed_order("READY"), closed_order("FAILED")],
        "new_closed": [closed_order("READY", placed_at=now)],
    }
    open_old = place()
    Order.objects.filter(pk=open_old.pk).update(placed_at=OLD)
    rows["old_open"] = [open_old]
    unsettled = closed_order("READY")
    OutboundCall.objects.filter(order=unsettled).update(status="PENDING", completed_at=None)
    rows["old_closed_with_pending_call"] = [unsettled]
    rows["old_mp_event"] = [NotificationEvent.objects.create(type="store.accepting_changed", timestamp=OLD, data={})]
    return rows


def ids(rows) -> set:
    return {r.pk for r in rows}


def test_dry_run_counts_and_deletes_nothing(seeded):
    before = (WebhookEvent.objects.count(), CallAttempt.objects.count(), Task.objects.count(), Order.objects.count())
    counts = {p.table: p.rows for p in retention_prune(dry_run=True)}
    assert counts == {
        "webhook events (applied)": 3,
        "call attempts (settled calls)": 4,
        "task results (django-q2)": 3,
        "orders (closed)": 2,
        "events for MP services (feed, deliveries)": 1,  # more in tests/unit/test_notifications.py
    }
    after = (WebhookEvent.objects.count(), CallAttempt.objects.count(), Task.objects.count(), Order.objects.count())
    assert after == before


def test_prune_deletes_only_what_is_old_and_done(seeded):
    for call in seeded["old_closed"]:
        CallAttempt.objects.create(
            call=call.outbound_calls.get(), number=1, started_at=OLD, request_method="POST", outcome="success"
        )
    results = {p.table: p for p in retention_prune()}
    assert results["webhook events (applied)"].rows == 3 and results["webhook events (applied)"].batches == 2
    assert set(WebhookEvent.objects.values_list("pk", flat=True)) == ids(
        seeded["old_unapplied"] + seeded["new_applied"]
    )
    kept_calls = seeded["old_pending"] + seeded["new_settled"]
    assert set(CallAttempt.objects.values_list("call_id", flat=True)) == ids(kept_calls) | {
        c.pk for o in seeded["old_closed_with_pending_call"] for c in o.outbound_calls.all() if c.call_attempts.exists()
    }
    assert (
        OutboundCall.objects.filter(pk__in=ids(seeded["old_settled"])).count() == 2
    )  # the calls stay, without attempts
    assert set(Task.objects.values_list("pk", flat=True)) == ids(seeded["new_tasks"])
    kept_orders = seeded["new_closed"] + seeded["old_open"] + seeded["old_closed_with_pending_call"]
    assert set(Order.objects.values_list("pk", flat=True)) == ids(kept_orders)
    gone = ids(seeded["old_closed"])
    assert not OrderLine.objects.filter(order_id__in=gone).exists()
    assert not OutboundCall.objects.filter(order_id__in=gone).exists()
    assert not StateLog.objects.filter(content_type__model="order", object_id__in=gone).exists()
    assert StateLog.objects.filter(content_type__model="order", object_id__in=ids(seeded["new_closed"])).exists()
    assert not NotificationEvent.objects.filter(pk__in=ids(seeded["old_mp_event"])).exists()
    assert all(p.done and p.longest_batch > 0 for p in results.values())
    assert {p.rows for p in retention_prune()} == {0}  # a second run finds nothing


def test_unset_settings_keep_their_tables(seeded, settings):
    settings.RETAIN_ORDER_DAYS = None
    settings.RETAIN_TASK_DAYS = None
    settings.RETAIN_MP_EVENT_DAYS = None
    tables = {p.table for p in retention_prune()}
    assert tables == {"webhook events (applied)", "call attempts (settled calls)"}
    assert Order.objects.count() == 5 and Task.objects.count() == 4
    assert NotificationEvent.objects.filter(pk__in=ids(seeded["old_mp_event"])).exists()


def test_a_spent_budget_stops_between_batches_and_the_next_run_carries_on(seeded):
    first = retention_prune(budget_seconds=0)
    assert not any(p.done for p in first) and sum(p.rows for p in first) == 0
    assert sum(p.rows for p in retention_prune()) == 3 + 4 + 3 + 2 + 1


def test_the_daily_task_enqueues_a_follow_up_until_done(seeded, monkeypatch):
    queued = []
    monkeypatch.setattr("integration.tasks.async_task", lambda func, **kw: queued.append(func))
    monkeypatch.setattr("integration.tasks.PRUNE_BUDGET", 0)
    tasks.prune()
    assert queued == ["integration.tasks.prune"] and WebhookEvent.objects.count() == 6
    monkeypatch.setattr("integration.tasks.PRUNE_BUDGET", 30)
    queued.clear()
    assert tasks.prune()["webhook events (applied)"] == 3
    assert queued == []


def test_daily_schedule_comes_with_the_migrations():
    migration = importlib.import_module("integration.migrations.0009_ops_heartbeat_prune_schedule")
    assert any(getattr(op, "code", None) is migration.create_schedule for op in migration.Migration.operations)
    Schedule.objects.filter(name="linkbridge-prune").delete()  # an earlier transactional test may have flushed it
    migration.create_schedule(django_apps, None)
    schedule = Schedule.objects.get(name="linkbridge-prune")
    assert schedule.func == "integration.tasks.prune" and schedule.schedule_type == Schedule.DAILY
    assert schedule.repeats == -1


def test_link_prune_command_dry_run_then_real(seeded):
    out = StringIO()
    call_command("link_prune", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "webhook events (applied): 3 older than 30 days would be deleted" in text
    assert "orders (closed): 2 older than 30 days would be deleted" in text
    assert "events for MP services (feed, deliveries): 1 older than 7 days would be deleted" in text
    assert WebhookEvent.objects.count() == 6
    out = StringIO()
    call_command("link_prune", stdout=out)
    assert "webhook events (applied): 3 older than 30 days deleted in 2 batches" in out.getvalue()
    assert "13 rows deleted." in out.getvalue()
    assert WebhookEvent.objects.count() == 3

"""django-q2 entry points: thin wrappers that call a service."""

import logging

from django.conf import settings
from django_q.tasks import async_task

from integration.logcontext import call_log_ids, log_context
from integration.services.availability import rollup as availability_rollup
from integration.services.mp_events import dispatch
from integration.services.ops import alerts, health, retention, trends
from integration.services.outbox import calls as outbound
from integration.services.outbox import drain
from integration.services.sweep import sweep_all

logger = logging.getLogger(__name__)

# Stay well inside django-q2's task timeout; what is left is pruned by a follow-up task.
PRUNE_BUDGET = settings.Q_CLUSTER["timeout"] * 0.6


def deliver_call(call_id: int) -> int:
    with log_context(**call_log_ids(call_id)):
        return outbound.call_deliver(call_id)


def drain_calls() -> int:
    return drain.calls_drain()


def dispatch_deliveries() -> dict:
    """Runs on the webhook deliveries' own cluster (``MP_WEBHOOK_CLUSTER``): one dispatcher run, then a fresh one."""
    run = dispatch.deliveries_dispatch_and_hand_over()
    return {"ran": run.ran, "tries": run.tries, "delivered": run.delivered, "retried": run.retried}


def deliver_event(call_id: int) -> dict:
    """Tasks queued before issue 24 (one per delivery): a dispatcher claims every due delivery now."""
    return dispatch_deliveries()


def webhooks_heartbeat() -> None:
    """Every minute on the deliveries' own cluster (its schedule): /readyz/ and the dashboard see it running."""
    health.webhooks_heartbeat_record()


def sweep() -> dict:
    """Every minute: each domain's sweep (``services.sweep``)."""
    return sweep_all()


def prune() -> dict:
    """The daily retention run (see link_prune); a run that spends its budget hands the rest to a new task."""
    results = retention.retention_prune(budget_seconds=PRUNE_BUDGET)
    if not all(p.done for p in results):
        async_task("integration.tasks.prune", task_name="linkbridge-prune-more")
    return {p.table: p.rows for p in results}


def trends_rollup() -> dict:
    """Every minute: roll up the hours whose orders changed and the hours whose calls to Link are all in."""
    run = trends.trends_rollup()
    return {"order_hours": run.order_hours, "call_hours": run.call_hours, "behind": run.behind}


def alerts_evaluate() -> dict:
    """Every 30 s (two minute schedules, one per cluster): the alert rules, then the due alert messages; then
    today's provisional availability rows (the all-stores list's order), after the alerts' own transaction."""
    run = alerts.alerts_evaluate()
    result: dict = {
        "fired": len(run.fired),
        "resolved": len(run.resolved),
        "messages": run.messages,
        "tried": run.delivered,
    }
    try:
        result["availability_live_days"] = availability_rollup.availability_rollup_live()
    except Exception:  # the alerts are in; the list's order waits for the next evaluation
        logger.exception("availability's live rollup failed")
    return result


def deliver_alert(call_id: int) -> int:
    with log_context(**call_log_ids(call_id)):
        return alerts.alert_deliver(call_id)

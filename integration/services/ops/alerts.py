"""Alerts to people (issue 26): rules evaluated every 30 s, each firing once after its threshold and
resolving once clear for ``ALERT_RESOLVE_SECONDS`` (no flapping), delivered as outbox calls.

Each rule names the conditions that hold now, per subject, with when each began (``Condition``). The
evaluation (``alerts_evaluate``) moves one ``Alert`` row per (rule, subject) through pending -> firing ->
resolved (or pending -> cleared, never announced), under one advisory lock: both clusters run it, each
every minute, half a minute apart (migration 0040), so each notices the other falling silent.

Messages: stores that go (or come back) in the same evaluation are announced in one message listing them.
Each message becomes one ``deliver_alert`` outbox call per channel (``ALERT_WEBHOOK_URL``: POST JSON
``{"text", "alert"}``; ``ALERT_EMAILS``: Django e-mail), committed with the alert's change, tried at once by
the evaluating task and again at every evaluation until ``ALERT_DELIVERY_DEADLINE``; a call that failed
for good is an undeliverable alert on the dashboard.
"""

import logging
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from integration.link.client import LinkResponse, PermanentError, RetriableError
from integration.locks import advisory_xact_lock
from integration.models import (
    Alert,
    AvailabilityChange,
    ClusterBeat,
    Order,
    OutboundCall,
    Store,
    WebhookEndpoint,
    WorkerHeartbeat,
)
from integration.selectors.availability import link_api_host, store_local_today
from integration.selectors.hours import store_scheduled_intervals
from integration.services.outbox.calls import call_claim, call_create, call_send
from integration.services.outbox.circuit import circuit_status

logger = logging.getLogger(__name__)

_LOCK = 0x6C62_616C  # any distinct key: one evaluation at a time, whichever cluster runs it
SWEEP_SCHEDULE = "linkbridge-outbox-sweep"
LINK_UNREACHABLE = "link_unreachable"
STORE_UNAVAILABLE = "store_unavailable"
ORDERS_FAILING = "orders_failing"
MP_ENDPOINT_FAILING = "mp_endpoint_failing"
WORKER_SILENT = "worker_silent"
RULES = (LINK_UNREACHABLE, STORE_UNAVAILABLE, ORDERS_FAILING, MP_ENDPOINT_FAILING, WORKER_SILENT)
# A store paused by ops is not news to ops; link_unreachable has its own (global) rule; unmapped is not scheduled.
STORE_ALERT_CAUSES = ("paused_on_link", "disconnected", "no_menu")


@dataclass
class Condition:
    rule: str
    subject: str
    since: datetime
    title: str
    details: dict = field(default_factory=dict)


def _threshold(rule: str) -> int:
    return {
        LINK_UNREACHABLE: settings.ALERT_LINK_UNREACHABLE_SECONDS,
        STORE_UNAVAILABLE: settings.ALERT_STORE_UNAVAILABLE_SECONDS,
        ORDERS_FAILING: 0,  # the condition itself is a count over a window
        MP_ENDPOINT_FAILING: settings.ALERT_MP_ENDPOINT_FAILING_SECONDS,
        WORKER_SILENT: settings.ALERT_WORKER_SILENT_SECONDS,
    }[rule]


# --- the rules: what holds now ------------------------------------------------------------------------


def _link_unreachable(now) -> list[Condition]:
    status = circuit_status(link_api_host())
    if not status.is_open:
        return []
    return [
        Condition(
            LINK_UNREACHABLE,
            "link",
            status.since or now,
            f"Link is unreachable ({status.host}: circuit open)",
            {"host": status.host, "failures": status.failures, "probes": status.probes},
        )
    ]


def _store_unavailable(now) -> list[Condition]:
    """Mapped stores inside their hours now whose record says down, for a cause ops did not choose."""
    last = AvailabilityChange.objects.filter(store=OuterRef("pk")).order_by("-at", "-id")
    candidates = (
        Store.objects.exclude(external_store_id=None)
        .annotate(
            cause=Subquery(last.values("cause")[:1]),
            cause_at=Subquery(last.values("at")[:1]),
            cause_detail=Subquery(last.values("detail")[:1]),
            cause_hours=Subquery(last.values("hours")[:1]),
        )
        .filter(cause__in=STORE_ALERT_CAUSES)
        .only("pk", "external_store_id", "name", "venue_id", "timezone")
    )
    conditions = []
    for store in candidates:
        today = store_local_today(store, now)
        opened = None
        for day in (today - timedelta(days=1), today):
            for start, end in store_scheduled_intervals(store, day, store.cause_hours or []):
                if start <= now < end:
                    opened = start if opened is None else min(opened, start)
        if opened is None:
            continue  # closed now: not scheduled, not down
        conditions.append(
            Condition(
                STORE_UNAVAILABLE,
                f"store:{store.external_store_id}",
                max(store.cause_at, opened),
                f"{store.name or store.venue_id} ({store.external_store_id}) unavailable: {store.cause}",
                {
                    "store": store.external_store_id,
                    "name": store.name,
                    "cause": store.cause,
                    "detail": store.cause_detail,
                },
            )
        )
    return conditions


def _orders_failing(now) -> list[Condition]:
    window = now - timedelta(minutes=settings.ALERT_ORDERS_FAILED_MINUTES)
    failed = list(
        Order.objects.filter(state=Order.State.FAILED, closed_at__gte=window)
        .order_by("-closed_at")
        .values_list("closed_at", flat=True)[: settings.ALERT_ORDERS_FAILED]
    )
    if len(failed) < settings.ALERT_ORDERS_FAILED:
        return []
    return [
        Condition(
            ORDERS_FAILING,
            "orders",
            failed[-1] or now,
            f"Orders failing: {len(failed)}+ failed in the last {settings.ALERT_ORDERS_FAILED_MINUTES} min",
            {"failed_at_least": len(failed), "minutes": settings.ALERT_ORDERS_FAILED_MINUTES},
        )
    ]


def _mp_endpoint_failing(now) -> list[Condition]:
    return [
        Condition(
            MP_ENDPOINT_FAILING,
            f"endpoint:{e.pk}",
            e.failing_since or now,
            f"MP webhook endpoint {e.url} failing",
            {"endpoint": e.pk, "url": e.url},
        )
        for e in WebhookEndpoint.objects.filter(enabled=True, failing_since__isnull=False).only(
            "pk", "url", "failing_since"
        )
    ]


def _silent_since(last: datetime | None, now, cadence: float) -> datetime | None:
    """When a process that beats every ``cadence`` seconds went silent (its last beat), if it is late now."""
    if last is not None and (now - last).total_seconds() > cadence * 1.5:
        return last
    return None


def _worker_silent(now) -> list[Condition]:
    from django_q.models import Schedule

    conditions = []
    due = Schedule.objects.filter(name=SWEEP_SCHEDULE).values_list("next_run", flat=True).first()
    scheduler = _silent_since(due, now, 30)  # the scheduler moves next_run on within ~30 s of it passing
    if scheduler is not None:
        conditions.append(
            Condition(WORKER_SILENT, "scheduler", scheduler, "The scheduler is silent (schedules not run)")
        )
    beats = {
        "worker": WorkerHeartbeat.objects.aggregate(last=Max("beat_at"))["last"],
        "webhooks": ClusterBeat.objects.filter(name="webhooks").values_list("beat_at", flat=True).first(),
    }
    for name, last in beats.items():
        since = _silent_since(last, now, 60)
        if since is not None and scheduler is None:  # a silent scheduler silences both: one alert says it
            label = "Link workers' cluster" if name == "worker" else "MP deliveries' cluster"
            conditions.append(Condition(WORKER_SILENT, name, since, f"The {label} is silent", {"last_beat": str(last)}))
    return conditions


CHECKS = {
    LINK_UNREACHABLE: _link_unreachable,
    STORE_UNAVAILABLE: _store_unavailable,
    ORDERS_FAILING: _orders_failing,
    MP_ENDPOINT_FAILING: _mp_endpoint_failing,
    WORKER_SILENT: _worker_silent,
}


# --- the evaluation ------------------------------------------------------------------------------------


def cluster_beat_record(name: str, now=None) -> None:
    ClusterBeat.objects.update_or_create(name=name, defaults={"beat_at": now or timezone.now()})


def _current_cluster() -> str:
    from django_q.conf import Conf

    return "webhooks" if Conf.CLUSTER_NAME == settings.MP_WEBHOOK_CLUSTER else "worker"


@dataclass
class Evaluation:
    fired: list = field(default_factory=list)
    resolved: list = field(default_factory=list)
    messages: int = 0
    delivered: int = 0


def alerts_evaluate(now: datetime | None = None, *, cluster: str | None = None, deliver: bool = True) -> Evaluation:
    """One pass of every rule: move alerts on, queue their messages; then try the due messages."""
    run = Evaluation()
    with transaction.atomic():
        advisory_xact_lock(_LOCK, 0)
        now = now or timezone.now()
        cluster_beat_record(cluster or _current_cluster(), now)
        for rule, check in CHECKS.items():
            try:
                with transaction.atomic():
                    fired, resolved = _evaluate_rule(rule, check(now), now)
            except Exception:  # one broken rule must not silence the others
                logger.exception("alert rule %s could not be evaluated", rule)
                continue
            run.fired += fired
            run.resolved += resolved
            for state, alerts in (("firing", fired), ("resolved", resolved)):
                for group in _groups(rule, alerts):
                    run.messages += 1
                    alert_message_queue(rule, state, group, now)
    if deliver:
        run.delivered = alerts_deliver_due()
    return run


def _evaluate_rule(rule: str, conditions: list[Condition], now) -> tuple[list[Alert], list[Alert]]:
    holding = {c.subject: c for c in conditions}
    open_alerts = {
        a.subject: a for a in Alert.objects.select_for_update().filter(rule=rule, state__in=["pending", "firing"])
    }
    threshold = timedelta(seconds=_threshold(rule))
    fired, resolved = [], []
    for subject, condition in holding.items():
        alert = open_alerts.get(subject)
        if alert is None:
            alert = Alert(rule=rule, subject=subject, since=condition.since)
        alert.title, alert.details, alert.clear_since = condition.title, condition.details, None
        if alert.state == Alert.State.PENDING and now - alert.since >= threshold:
            alert.state, alert.fired_at = Alert.State.FIRING, now
            fired.append(alert)
        alert.save()
    for subject, alert in open_alerts.items():
        if subject in holding:
            continue
        if alert.state == Alert.State.PENDING:
            alert.state, alert.resolved_at = Alert.State.CLEARED, now
        elif alert.clear_since is None:
            alert.clear_since = now
        elif (now - alert.clear_since).total_seconds() >= settings.ALERT_RESOLVE_SECONDS:
            alert.state, alert.resolved_at = Alert.State.RESOLVED, now
            resolved.append(alert)
        alert.save()
    return fired, resolved


def _groups(rule: str, alerts: list[Alert]) -> list[list[Alert]]:
    """Store alerts of one evaluation go in one message; every other alert in its own."""
    if not alerts:
        return []
    if rule == STORE_UNAVAILABLE:
        return [sorted(alerts, key=lambda a: a.subject)]
    return [[a] for a in alerts]


# --- messages ------------------------------------------------------------------------------------------


def _at(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def alert_message(rule: str, state: str, alerts: list[Alert], now) -> dict:
    """``{"text", "alert": {rule, state, subject, since, details}}``: the webhook's body (and the e-mail)."""
    since = min(a.since for a in alerts)
    mark = "FIRING" if state == "firing" else "RESOLVED"
    if len(alerts) == 1:
        alert = alerts[0]
        subject, details = alert.subject, dict(alert.details, alert_id=alert.pk)
        text = f"[{mark}] {alert.title}, since {since:%Y-%m-%d %H:%M:%S} UTC"
    else:
        subject = f"{len(alerts)} stores"
        listed = alerts[: settings.ALERT_GROUP_LIST_MAX]
        names = ", ".join(f"{a.details.get('name') or a.subject} ({a.details.get('cause', '')})" for a in listed)
        more = f" and {len(alerts) - len(listed)} more" if len(alerts) > len(listed) else ""
        verb = "unavailable in their hours" if state == "firing" else "available again"
        text = f"[{mark}] {len(alerts)} stores {verb}: {names}{more}"
        details = {"stores": [dict(a.details, alert_id=a.pk) for a in alerts]}
    if state == "resolved":
        details["resolved_at"] = _at(now)
    return {
        "text": text,
        "alert": {"rule": rule, "state": state, "subject": subject, "since": _at(since), "details": details},
    }


def alert_message_queue(rule: str, state: str, alerts: list[Alert], now) -> list[OutboundCall]:
    """One ``deliver_alert`` call per configured channel, in the caller's transaction."""
    body = alert_message(rule, state, alerts, now)
    calls = []
    if settings.ALERT_WEBHOOK_URL:
        calls.append(
            call_create(
                kind=OutboundCall.Kind.DELIVER_ALERT, method="POST", path=settings.ALERT_WEBHOOK_URL, payload=body
            )
        )
    if settings.ALERT_EMAILS:
        path = "mailto:" + ",".join(settings.ALERT_EMAILS)
        calls.append(call_create(kind=OutboundCall.Kind.DELIVER_ALERT, method="EMAIL", path=path[:2000], payload=body))
    if not calls:
        logger.warning(
            "alert %s %s: no channel configured (ALERT_WEBHOOK_URL, ALERT_EMAILS): %s", rule, state, body["text"]
        )
    return calls


# --- delivery (the outbox kind ``deliver_alert``) ----------------------------------------------------------

_session = requests.Session()


def alert_send(call: OutboundCall, kind=None) -> LinkResponse:
    """One try: a webhook POST (2xx delivered; 4xx other than 408/429 fails for good) or one e-mail."""
    body = call.payload or {}
    if call.path.startswith("mailto:"):
        recipients = [r for r in call.path.removeprefix("mailto:").split(",") if r]
        info: dict[str, object] = {"to": recipients}
        try:
            send_mail(
                subject=body.get("text", "linkbridge alert")[:200],
                message=_email_text(body),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=recipients,
            )
        except Exception as exc:  # SMTP down, refused, timed out: try again later
            raise RetriableError("email_failed", f"{type(exc).__name__}: {exc}", request=info) from exc
        return LinkResponse(250, None, "sent", request=info)
    info = {"url": call.path}
    try:
        with _session.post(
            call.path, json=body, timeout=settings.ALERT_WEBHOOK_TIMEOUT, allow_redirects=False
        ) as response:
            text = response.text[:2000]
    except requests.Timeout as exc:
        raise RetriableError("timeout", f"no answer in time: {exc}", request=info) from exc
    except requests.RequestException as exc:
        raise RetriableError("connection_error", str(exc), request=info) from exc
    status = response.status_code
    if 200 <= status < 300:
        return LinkResponse(status, None, text, request=info)
    error = RetriableError if status >= 500 or status in (408, 429) else PermanentError
    raise error(f"http_{status}", f"the alert webhook answered {status}", status_code=status, body=text, request=info)


def _email_text(body: dict) -> str:
    alert = body.get("alert", {})
    lines = [body.get("text", ""), "", f"rule: {alert.get('rule')}", f"state: {alert.get('state')}"]
    lines += [
        f"subject: {alert.get('subject')}",
        f"since: {alert.get('since')}",
        "",
        f"details: {alert.get('details')}",
    ]
    return "\n".join(lines) + f"\n\n-- linkbridge on {socket.gethostname()}\n"


def alert_channel(call: OutboundCall) -> str:
    return "alerts-email" if call.path.startswith("mailto:") else "alerts-webhook"


def alert_enqueue(call_id: int) -> None:
    """A retry asked by ops: to the Link workers (the evaluation tries due alert calls every 30 s anyway)."""
    from django_q.tasks import async_task

    try:
        async_task("integration.tasks.deliver_alert", call_id, task_name=f"deliver-alert-{call_id}", save=False)
    except Exception:
        logger.exception("could not enqueue alert call %s; the next evaluation tries it", call_id)


def alert_deliver(call_id: int | None = None) -> int:
    """Try one due alert call (``call_id``) or every due one; returns the tries made."""
    due = OutboundCall.objects.filter(
        kind=OutboundCall.Kind.DELIVER_ALERT, status=OutboundCall.Status.PENDING, next_attempt_at__lte=timezone.now()
    )
    if call_id is not None:
        due = due.filter(pk=call_id)
    tries = 0
    for pk in list(due.order_by("pk").values_list("pk", flat=True)[:50]):
        call = call_claim(pk)
        if call is not None:
            call_send(call)
            tries += 1
    return tries


def alerts_deliver_due() -> int:
    return alert_deliver()


def alerts_undeliverable(limit: int = 5):
    """Alert messages that failed for good (the dashboard shows them)."""
    return OutboundCall.objects.filter(
        kind=OutboundCall.Kind.DELIVER_ALERT, status=OutboundCall.Status.FAILED
    ).order_by("-completed_at")[:limit]

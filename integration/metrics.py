"""Prometheus metrics: counters and histograms from every process, gauges read from the database at scrape time.

With ``PROMETHEUS_MULTIPROC_DIR`` set (the Procfile and the test stacks set it), every gunicorn worker
and django-q2 process writes its counters and histograms to files there, and ``/metrics`` sums the
files of all processes on the host (prometheus-client's multiprocess mode). Without it, one process
serves its own values (``runserver``, tests). Gauges ("how many now") are not counted by processes:
they are read from the database when Prometheus scrapes, so every host answers the same truth.

Adding a metric is one line here:
    NOTIFICATIONS = counter("linkbridge_notifications_total", "Notifications sent", ["type", "outcome"])
and one call where it happens (``metrics.NOTIFICATIONS.labels(type, outcome).inc()``); a gauge read
from the database at scrape time is a function:
    @scrape_gauge("linkbridge_circuit_open", "1 while the circuit to a Link host is open", ["host"])
    def _circuit_open(): return {(host,): 1.0 for host in ...}
"""

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROC_DIR:
    os.makedirs(MULTIPROC_DIR, exist_ok=True)  # before prometheus_client writes its first value file there

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess  # noqa: E402
from prometheus_client.core import GaugeMetricFamily  # noqa: E402

logger = logging.getLogger(__name__)

PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)


def counter(name: str, documentation: str, labels=()) -> Counter:
    return Counter(name, documentation, labels, registry=PROCESS_REGISTRY)


def histogram(name: str, documentation: str, labels=(), buckets=Histogram.DEFAULT_BUCKETS) -> Histogram:
    return Histogram(name, documentation, labels, buckets=buckets, registry=PROCESS_REGISTRY)


@dataclass(frozen=True)
class ScrapeGauge:
    name: str
    documentation: str
    labels: tuple[str, ...]
    read: Callable[[], dict]  # {label values tuple: value}; () for an unlabelled gauge

    def family(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for label_values, value in self.read().items():
            family.add_metric(list(label_values), value)
        return family


SCRAPE_GAUGES: list[ScrapeGauge] = []


def scrape_gauge(name: str, documentation: str, labels=()):
    def register(read: Callable[[], dict]):
        SCRAPE_GAUGES.append(ScrapeGauge(name, documentation, tuple(labels), read))
        return read

    return register


# --- the metrics ----------------------------------------------------------------------------------

WEBHOOKS_RECEIVED = counter(
    "linkbridge_webhooks_received_total",
    "Webhook requests from Link by event type and outcome (processed, ignored, duplicate, failed, refused)",
    ["type", "outcome"],
)
LINK_CALLS = counter(
    "linkbridge_link_calls_total",
    "Tries of outbound calls to Link by kind and outcome (succeeded, retried, failed for good)",
    ["kind", "outcome"],
)
LINK_CALL_DURATION = histogram(
    "linkbridge_link_call_duration_seconds", "Duration of one HTTP try of a call to Link", ["kind"]
)
ORDER_SUBMIT = histogram(
    "linkbridge_order_submit_seconds",
    "From an order placed through the API to Link's 201 for it",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)

MP_DELIVERIES = counter(
    "linkbridge_mp_deliveries_total",
    "Tries of deliveries to MP webhook endpoints by outcome (succeeded, retried, failed for good)",
    ["outcome"],
)
MP_DELIVERY_DURATION = histogram("linkbridge_mp_delivery_duration_seconds", "Duration of one try of a delivery")
MP_EVENT_DELIVERED = histogram(
    "linkbridge_mp_event_delivered_seconds",
    "From an event (the change that made it) to its delivery at an MP webhook endpoint",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
)

CALL_OUTCOMES = {"SUCCEEDED": "succeeded", "PENDING": "retried", "FAILED": "failed"}


def link_call_observed(kind: str, status: str, seconds: float) -> None:
    """One try of a call to Link settled into ``status`` (an OutboundCall.Status); counted once its transaction
    commits. Deliveries to MP webhook endpoints are not calls to Link: ``mp_delivery_observed`` counts them."""
    outcome = CALL_OUTCOMES.get(status)
    if outcome is None:
        return
    LINK_CALLS.labels(kind, outcome).inc()
    LINK_CALL_DURATION.labels(kind).observe(seconds)


def mp_delivery_observed(kind: str, status: str, seconds: float) -> None:
    """One try of a delivery to an MP webhook endpoint (``link_call_observed``'s signature)."""
    outcome = CALL_OUTCOMES.get(status)
    if outcome is None:
        return
    MP_DELIVERIES.labels(outcome).inc()
    MP_DELIVERY_DURATION.observe(seconds)


def mp_event_delivered(event_at) -> None:
    MP_EVENT_DELIVERED.observe(max(0.0, (timezone.now() - event_at).total_seconds()))


def on_commit(observe: Callable, *args) -> None:
    """Count something only if the change it describes commits."""
    transaction.on_commit(partial(observe, *args))


def order_submitted(placed_at) -> None:
    ORDER_SUBMIT.observe(max(0.0, (timezone.now() - placed_at).total_seconds()))


# --- gauges read from the database at scrape time (cheap, indexed queries) ------------------------


def _pending_calls(*, to_link: bool):
    """Pending outbox rows: calls to Link, or deliveries to MP webhook endpoints (never mixed in one gauge)."""
    from integration.models import OutboundCall
    from integration.services.outbox.kinds import link_kinds

    pending = OutboundCall.objects.filter(status=OutboundCall.Status.PENDING).order_by()
    return pending.filter(kind__in=link_kinds()) if to_link else pending.exclude(kind__in=link_kinds())


@scrape_gauge("linkbridge_outbox_pending", "Outbound calls waiting to reach Link, by kind", ["kind"])
def _outbox_pending() -> dict:
    from integration.services.outbox.kinds import link_kinds

    counts = dict.fromkeys(link_kinds(), 0.0)
    counts.update(_pending_calls(to_link=True).values_list("kind").annotate(n=Count("pk")))
    return {(kind,): float(n) for kind, n in counts.items()}


@scrape_gauge(
    "linkbridge_outbox_oldest_pending_seconds", "Age of the oldest outbound call to Link still pending (0: none)"
)
def _outbox_oldest() -> dict:
    oldest = _pending_calls(to_link=True).aggregate(oldest=Min("created_at"))["oldest"]
    return {(): (timezone.now() - oldest).total_seconds() if oldest else 0.0}


@scrape_gauge("linkbridge_mp_deliveries_pending", "Deliveries to MP webhook endpoints not yet settled")
def _mp_deliveries_pending() -> dict:
    return {(): float(_pending_calls(to_link=False).count())}


@scrape_gauge(
    "linkbridge_mp_delivery_lag_seconds",
    "Age of each MP webhook endpoint's oldest undelivered event (endpoints with deliveries pending)",
    ["endpoint"],
)
def _mp_delivery_lag() -> dict:
    from integration.selectors.deliveries import endpoints_lag

    return {(str(endpoint_id),): seconds for endpoint_id, seconds in endpoints_lag().items()}


@scrape_gauge("linkbridge_mp_webhook_endpoints", "MP webhook endpoints by state (ok, failing, disabled)", ["state"])
def _mp_endpoints() -> dict:
    from integration.models import WebhookEndpoint

    row = WebhookEndpoint.objects.aggregate(
        ok=Count("pk", filter=Q(enabled=True, failing_since__isnull=True)),
        failing=Count("pk", filter=Q(enabled=True, failing_since__isnull=False)),
        disabled=Count("pk", filter=Q(enabled=False)),
    )
    return {(state,): float(n) for state, n in row.items()}


@scrape_gauge("linkbridge_orders", "Open orders now, by state", ["state"])
def _open_orders() -> dict:
    from integration.models import Order

    counts = dict.fromkeys(Order.OPEN_STATES, 0.0)
    counts.update(
        Order.objects.filter(state__in=Order.OPEN_STATES).order_by().values_list("state").annotate(n=Count("pk"))
    )
    return {(str(state),): float(n) for state, n in counts.items()}


@scrape_gauge(
    "linkbridge_trends_rollup_age_seconds",
    "Seconds since the trends rollup last caught up (over 900: the charts compute every hour live; absent: never ran)",
)
def _trends_rollup_age() -> dict:
    from integration.models import TrendRollup

    ran_at = TrendRollup.objects.filter(pk=1).values_list("ran_at", flat=True).first()
    return {(): (timezone.now() - ran_at).total_seconds()} if ran_at else {}


@scrape_gauge(
    "linkbridge_stores_unavailable",
    "Mapped stores that would not take orders when scheduled now, by cause (opening hours not applied)",
    ["cause"],
)
def _stores_unavailable() -> dict:
    from django.db.models import OuterRef, Subquery

    from integration.models import AvailabilityChange, Store
    from integration.models.availability import CAUSES

    last = AvailabilityChange.objects.filter(store=OuterRef("pk")).order_by("-at", "-id").values("cause")[:1]
    counts = dict.fromkeys((c for c in CAUSES if c != "link_unreachable"), 0.0)
    causes = (
        Store.objects.exclude(external_store_id=None).annotate(cause=Subquery(last)).values_list("cause", flat=True)
    )
    for cause in causes:
        if cause in counts:
            counts[cause] += 1
    return {(cause,): n for cause, n in counts.items()}


@scrape_gauge("linkbridge_orders_failed_15m", "Orders that failed in the last 15 minutes")
def _orders_failed_recently() -> dict:
    from datetime import timedelta

    from integration.models import Order

    since = timezone.now() - timedelta(minutes=15)
    return {(): float(Order.objects.filter(state=Order.State.FAILED, closed_at__gte=since).count())}


@scrape_gauge(
    "linkbridge_process_silent_seconds",
    "Seconds since each background process last showed life: worker (the sweep), webhooks (the deliveries' "
    "cluster), scheduler (how late the minute schedule is)",
    ["process"],
)
def _process_silence() -> dict:
    from django.db.models import Max
    from django_q.models import Schedule

    from integration.models import ClusterBeat, WorkerHeartbeat

    now, values = timezone.now(), {}
    beat = WorkerHeartbeat.objects.aggregate(last=Max("beat_at"))["last"]
    if beat:
        values[("worker",)] = (now - beat).total_seconds()
    webhooks = ClusterBeat.objects.filter(name="webhooks").values_list("beat_at", flat=True).first()
    if webhooks:
        values[("webhooks",)] = (now - webhooks).total_seconds()
    due = Schedule.objects.filter(name="linkbridge-outbox-sweep").values_list("next_run", flat=True).first()
    if due:
        values[("scheduler",)] = max(0.0, (now - due).total_seconds())
    return values


@scrape_gauge("linkbridge_alerts_undeliverable", "Alert messages (webhook, e-mail) that failed for good")
def _alerts_undeliverable() -> dict:
    from integration.models import OutboundCall

    failed = OutboundCall.objects.filter(kind=OutboundCall.Kind.DELIVER_ALERT, status=OutboundCall.Status.FAILED)
    return {(): float(failed.count())}


def _per_host(value: Callable) -> Callable[[], dict]:
    """A gauge per Link host from ``backlog_status()`` (circuit, held calls, drain)."""

    def read() -> dict:
        from integration.services.outbox.backlog import backlog_status

        return {(host.circuit.host,): float(value(host, timezone.now())) for host in backlog_status()}

    return read


for _name, _doc, _value in [
    ("linkbridge_link_circuit_open", "1 while the circuit to a Link host is open", lambda h, now: h.circuit.is_open),
    (
        "linkbridge_link_circuit_state_seconds",
        "Seconds since the circuit to a Link host last opened or closed (0: never)",
        lambda h, now: (now - h.circuit.since).total_seconds() if h.circuit.since else 0,
    ),
    ("linkbridge_link_circuit_probes", "Probes sent since the circuit opened", lambda h, now: h.circuit.probes),
    ("linkbridge_link_calls_waiting", "Calls held while the circuit is open", lambda h, now: h.waiting),
    (
        "linkbridge_link_drain_remaining",
        "Calls released when the circuit closed and not sent yet (0: no drain)",
        lambda h, now: h.circuit.drain_total - h.drained if h.circuit.draining else 0,
    ),
    (
        "linkbridge_link_pause_seconds",
        "Seconds every call to a Link host still waits after a 429",
        lambda h, now: (h.circuit.paused_until - now).total_seconds() if h.circuit.paused_until else 0,
    ),
]:
    scrape_gauge(_name, _doc, ["host"])(_per_host(_value))


class _DatabaseGauges:
    def collect(self):
        for gauge in SCRAPE_GAUGES:
            try:
                yield gauge.family()
            except Exception:  # a database hiccup must not hide the counters from this scrape
                logger.exception("metric %s could not be read", gauge.name)


def render() -> bytes:
    """The exposition text: this host's counters and histograms (all processes) plus the database gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROC_DIR:
        multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)
    else:
        registry.register(_ProcessMetrics())
    registry.register(_DatabaseGauges())
    return generate_latest(registry)


class _ProcessMetrics:
    def collect(self):
        return PROCESS_REGISTRY.collect()

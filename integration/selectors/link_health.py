"""Link health for the top of the dashboard: is Link answering, and what is still waiting on it."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from integration.counting import capped, capped_counts
from integration.models import CallAttempt, Order, OutboundCall, WebhookEvent
from integration.selectors.calls import calls_failed_unsettled
from integration.services.outbox.circuit import circuits_status
from integration.services.outbox.kinds import link_kinds

LATEST = 10  # Link's state is judged on this many of the latest tries (last 15 minutes)
DOWN_SHARE = 0.8  # at least this share of them failed, and the latest one too: Link is down
DEGRADED_SHARE = 0.2
MIN_TRIES = 3


@dataclass
class LinkHealth:
    at: datetime
    level: str  # "ok", "degraded", "down" or "quiet" (no call to Link in 15 minutes)
    headline: str
    todo: str
    retrying: int  # calls waiting for their next try after a failed one
    tries_5m: int
    failed_5m: int
    tries_15m: int
    failed_15m: int
    not_at_link: int  # orders Link has not taken yet (no Link order id)
    oldest_not_at_link: datetime | None
    unconfirmed: int
    oldest_unconfirmed: datetime | None
    last_event_at: datetime | None
    last_error: str = ""
    circuits: list = field(default_factory=list)  # services.circuit's CircuitStatus per Link host

    @staticmethod
    def share(failed: int, tries: int) -> int | None:
        return round(100 * failed / tries) if tries else None

    @property
    def share_5m(self) -> int | None:
        return self.share(self.failed_5m, self.tries_5m)

    @property
    def share_15m(self) -> int | None:
        return self.share(self.failed_15m, self.tries_15m)


def _level(latest: list[tuple[str, int | None, str]]) -> tuple[str, int]:
    failed = sum(outcome != CallAttempt.Outcome.SUCCESS for outcome, _, _ in latest)
    if not latest:
        return "quiet", 0
    if len(latest) >= MIN_TRIES and latest[0][0] != CallAttempt.Outcome.SUCCESS and failed >= DOWN_SHARE * len(latest):
        return "down", failed
    if failed and failed >= DEGRADED_SHARE * len(latest):
        return "degraded", failed
    return "ok", failed


def _describe(level: str, failed: int, tried: int, health: LinkHealth) -> tuple[str, str]:
    submit_deadline = settings.LINK_SUBMIT_DEADLINE // 60
    if level == "down":
        return (
            f"Link is failing: {failed} of our last {tried} calls to it failed ({health.last_error}).",
            "Nothing to retry by hand yet: calls wait and go out by themselves, oldest first, as soon as Link "
            f"answers. Orders still waiting after {submit_deadline} min fail as 'Link unavailable since ...'. If it "
            "lasts, tell Link's support and consider pausing stores; once Link answers, use Retry everything since "
            "... below for those.",
        )
    if level == "degraded":
        return (
            f"Link answers, but {failed} of our last {tried} calls to it failed ({health.last_error}).",
            "Failed tries are retried by themselves; act only if the share keeps rising.",
        )
    if level == "quiet":
        return "No call to Link in the last 15 minutes.", "No action needed."
    if health.retrying or health.not_at_link:
        return (
            f"Link answers; {capped(health.retrying)} calls still wait for their next try.",
            "They go by themselves; to send them now, use Retry everything since ... below.",
        )
    return f"Link answers: our last {tried} calls to it succeeded.", "No action needed."


def link_health(now: datetime | None = None) -> LinkHealth:
    """Six queries whatever the size: the latest tries, try counts, retrying calls, open orders, last event,
    and the circuits (one read of their table, or of Redis)."""
    now = now or timezone.now()
    since = now - timedelta(minutes=15)
    recent = CallAttempt.objects.filter(started_at__gte=since, call__kind__in=link_kinds())  # not MP deliveries
    latest = list(recent.order_by("-started_at", "-pk").values_list("outcome", "status_code", "error")[:LATEST])
    five = Q(started_at__gte=now - timedelta(minutes=5))
    failed = ~Q(outcome=CallAttempt.Outcome.SUCCESS)
    tries = recent.aggregate(
        tries_15m=Count("pk"),
        failed_15m=Count("pk", filter=failed),
        tries_5m=Count("pk", filter=five),
        failed_5m=Count("pk", filter=five & failed),
    )
    retrying = OutboundCall.objects.filter(status=OutboundCall.Status.PENDING, attempts__gt=0, kind__in=link_kinds())
    retrying = capped_counts({"retrying": retrying})["retrying"]  # a long outage holds many: "1,000+"
    not_at_link = Q(link_order_id__isnull=True)
    orders = Order.objects.filter(state=Order.State.PENDING).aggregate(
        unconfirmed=Count("pk"),
        oldest_unconfirmed=Min(Coalesce("pending_since", "placed_at")),
        not_at_link=Count("pk", filter=not_at_link),
        oldest_not_at_link=Min("placed_at", filter=not_at_link),
    )
    last_event_at = WebhookEvent.objects.aggregate(last=Max("received_at"))["last"]
    circuits = circuits_status()
    level, failed_latest = _level(latest)
    last_error = (
        next(
            (f"HTTP {code}" if code else (error.splitlines() or ["no answer"])[0][:80])
            for outcome, code, error in latest
            if outcome != CallAttempt.Outcome.SUCCESS
        )
        if failed_latest
        else ""
    )
    health = LinkHealth(
        at=now,
        level=level,
        headline="",
        todo="",
        retrying=retrying,
        last_event_at=last_event_at,
        last_error=last_error,
        circuits=circuits,
        **tries,
        **orders,
    )
    health.headline, health.todo = _describe(level, failed_latest, len(latest), health)
    return health


RETRY_BATCH = 500


def orders_to_retry_since(since: datetime):
    """Orders that went FAILED since ``since`` (oldest first, one batch)."""
    failed = Order.objects.filter(state=Order.State.FAILED, updated_at__gte=since).select_related("store")
    return failed.order_by("pk")


def calls_to_retry_since(since: datetime):
    """Calls to send again now: the unsettled failures since ``since`` (submissions go through their
    order), and every call still waiting out a backoff after a failed try (Link may be back already)."""
    failed = calls_failed_unsettled() & Q(completed_at__gte=since) & ~Q(kind=OutboundCall.Kind.SUBMIT_ORDER)
    waiting = Q(status=OutboundCall.Status.PENDING, attempts__gt=0, kind__in=link_kinds())
    return OutboundCall.objects.filter(failed | waiting).select_related("store").order_by("pk")

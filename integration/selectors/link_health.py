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
DEGRADED_SHARE = 0.2  # of the latest tries within PRESENT: degraded
PRESENT = timedelta(seconds=30)  # "now": failures older than this no longer make the banner amber
MIN_TRIES = 3


@dataclass
class Outage:
    """The latest run of failed tries in the last 15 minutes that Link has answered after."""

    started_at: datetime
    recovered_at: datetime
    failed_tries: int
    calls: int  # calls to Link made or tried during it (held, retried, or failed)
    calls_failed: int  # of those, how many failed for good

    @property
    def minutes(self) -> int:
        return max(1, round((self.recovered_at - self.started_at).total_seconds() / 60))

    @property
    def was_down(self) -> bool:
        return self.failed_tries >= MIN_TRIES


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
    failed_now: int = 0  # failed tries among the latest, within PRESENT
    held: int = 0  # calls held back by an open circuit, or released and not sent yet
    outage: Outage | None = None  # the latest outage Link has recovered from (last 15 minutes)
    circuits_shown: list = field(default_factory=list)  # circuits worth a row: not closed, or closed lately

    @staticmethod
    def share(failed: int, tries: int) -> int | None:
        return round(100 * failed / tries) if tries else None

    @property
    def share_5m(self) -> int | None:
        return self.share(self.failed_5m, self.tries_5m)

    @property
    def share_15m(self) -> int | None:
        return self.share(self.failed_15m, self.tries_15m)


def _level(latest: list[tuple], now: datetime, waiting: int) -> tuple[str, int]:
    """Down: most of the latest tries failed and the latest one too. Degraded: a fifth of the tries of the
    last ``PRESENT`` failed, or calls still wait after failed tries. Else OK: the banner tells the present,
    so a quiet night after an outage is OK once Link has answered and the held calls have gone."""
    failed = sum(outcome != CallAttempt.Outcome.SUCCESS for outcome, *_ in latest)
    if not latest:
        return "quiet", 0
    if len(latest) >= MIN_TRIES and latest[0][0] != CallAttempt.Outcome.SUCCESS and failed >= DOWN_SHARE * len(latest):
        return "down", failed
    present = [outcome for outcome, *rest in latest if rest[-1] >= now - PRESENT]
    failed_now = sum(outcome != CallAttempt.Outcome.SUCCESS for outcome in present)
    if (failed_now and failed_now >= DEGRADED_SHARE * len(present)) or (failed and waiting):
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
    if level == "degraded" and health.outage and not health.failed_now:
        waiting = health.retrying + health.held
        return (
            f"Link answers again; {capped(waiting)} calls held or failed during the outage still wait to be sent.",
            "They go by themselves, oldest first; to send them now, use Retry everything since ... below.",
        )
    if level == "degraded":
        return (
            f"Link answers, but {failed} of our last {tried} calls to it failed ({health.last_error}).",
            "Failed tries are retried by themselves; act only if the share keeps rising.",
        )
    if level == "quiet":
        return "No call to Link in the last 15 minutes.", "No action needed."
    if health.retrying or health.held:
        return (
            f"Link answers; {capped(health.retrying + health.held)} calls still wait for their next try.",
            "They go by themselves; to send them now, use Retry everything since ... below.",
        )
    if health.not_at_link:
        return (
            f"Link answers; {capped(health.not_at_link)} orders are not at Link yet, none waiting on a failed try.",
            "Their submissions are on their way; the board's first column shows them.",
        )
    return f"Link answers: our last {tried} calls to it succeeded.", "No action needed."


def link_health(now: datetime | None = None) -> LinkHealth:
    """Six queries whatever the size: the latest tries, try counts, retrying calls, open orders, last event,
    and the circuits (one read of their table, or of Redis)."""
    now = now or timezone.now()
    since = now - timedelta(minutes=15)
    recent = CallAttempt.objects.filter(started_at__gte=since, call__kind__in=link_kinds())  # not MP deliveries
    latest = list(
        recent.order_by("-started_at", "-pk").values_list("outcome", "status_code", "error", "started_at")[:LATEST]
    )
    five = Q(started_at__gte=now - timedelta(minutes=5))
    failed = ~Q(outcome=CallAttempt.Outcome.SUCCESS)
    tries = recent.aggregate(
        tries_15m=Count("pk"),
        failed_15m=Count("pk", filter=failed),
        tries_5m=Count("pk", filter=five),
        failed_5m=Count("pk", filter=five & failed),
    )
    pending = OutboundCall.objects.filter(status=OutboundCall.Status.PENDING, kind__in=link_kinds())
    waiting = capped_counts(  # a long outage holds many: "1,000+"
        {"retrying": pending.filter(attempts__gt=0), "held": pending.filter(attempts=0, waiting_since__isnull=False)}
    )
    not_at_link = Q(link_order_id__isnull=True)
    orders = Order.objects.filter(state=Order.State.PENDING).aggregate(
        unconfirmed=Count("pk"),
        oldest_unconfirmed=Min(Coalesce("pending_since", "placed_at")),
        not_at_link=Count("pk", filter=not_at_link),
        oldest_not_at_link=Min("placed_at", filter=not_at_link),
    )
    last_event_at = WebhookEvent.objects.aggregate(last=Max("received_at"))["last"]
    circuits = circuits_status()
    level, failed_latest = _level(latest, now, waiting["retrying"] + waiting["held"])
    last_error = (
        next(
            (f"HTTP {code}" if code else (error.splitlines() or ["no answer"])[0][:80])
            for outcome, code, error, _ in latest
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
        retrying=waiting["retrying"],
        held=waiting["held"],
        last_event_at=last_event_at,
        last_error=last_error,
        circuits=circuits,
        **tries,
        **orders,
    )
    health.failed_now = sum(o != CallAttempt.Outcome.SUCCESS for o, _, _, at in latest if at >= now - PRESENT)
    if failed_latest and level != "down":
        health.outage = _latest_outage(recent)
    health.circuits_shown = circuits_worth_showing(circuits, now)
    health.headline, health.todo = _describe(level, failed_latest, len(latest), health)
    return health


CIRCUIT_SHOWN_FOR = timedelta(minutes=5)  # a circuit closed longer than this has no row on the dashboard


def circuits_worth_showing(circuits, now: datetime) -> list:
    """Circuits that say something now: open, half open, draining, paused by a 429, or closed lately."""
    return [
        c
        for c in circuits
        if c.state != "closed"
        or c.draining
        or c.paused_until
        or c.failures
        or ((c.closed_at or c.since) and now - (c.closed_at or c.since) < CIRCUIT_SHOWN_FOR)
    ]


def _latest_outage(recent) -> Outage | None:
    """The latest run of failed tries that a success followed: when it began and ended, and the calls it
    touched (three or four queries; only while such a run is in the last 15 minutes)."""
    failed = ~Q(outcome=CallAttempt.Outcome.SUCCESS)
    ok = Q(outcome=CallAttempt.Outcome.SUCCESS)
    last_failure = recent.filter(failed).order_by("-started_at").values_list("started_at", flat=True).first()
    if last_failure is None:
        return None
    recovered = recent.filter(ok, started_at__gt=last_failure).order_by("started_at")
    recovered_at = recovered.values_list("started_at", flat=True).first()
    if recovered_at is None:
        return None
    before = recent.filter(ok, started_at__lt=last_failure).order_by("-started_at")
    success_before = before.values_list("started_at", flat=True).first()
    run = recent.filter(failed, started_at__lte=last_failure)
    if success_before is not None:
        run = run.filter(started_at__gt=success_before)
    figures = run.aggregate(started_at=Min("started_at"), tries=Count("pk"))
    started_at = figures["started_at"]
    touched = OutboundCall.objects.filter(kind__in=link_kinds()).filter(
        Q(created_at__gte=started_at, created_at__lte=recovered_at) | Q(pk__in=run.values("call_id"))
    )
    calls = touched.aggregate(n=Count("pk"), failed=Count("pk", filter=Q(status=OutboundCall.Status.FAILED)))
    return Outage(started_at, recovered_at, figures["tries"], calls["n"], calls["failed"])


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

"""How far behind each MP webhook endpoint's deliveries are (issue 24): the age of its oldest undelivered event.

Read along the pending deliveries' partial index (``delivery_due``, migration 0029): the admin's endpoint page,
the dashboard and ``/metrics`` (``linkbridge_mp_delivery_lag_seconds``) show it.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min
from django.utils import timezone

from integration.models import OutboundCall, WebhookEndpoint


def _pending():
    return OutboundCall.objects.filter(
        kind=OutboundCall.Kind.DELIVER_EVENT, status=OutboundCall.Status.PENDING, endpoint__enabled=True
    ).order_by()


def endpoints_lag(now: datetime | None = None) -> dict[int, float]:
    """Seconds since the oldest undelivered event of each enabled endpoint with deliveries pending (one query)."""
    now = now or timezone.now()
    oldest = _pending().values("endpoint_id").annotate(oldest=Min("created_at")).values_list("endpoint_id", "oldest")
    return {endpoint_id: max(0.0, (now - at).total_seconds()) for endpoint_id, at in oldest if endpoint_id}


def endpoint_lag(endpoint: WebhookEndpoint, now: datetime | None = None) -> float:
    """One endpoint's lag (0: nothing waiting)."""
    oldest = _pending().filter(endpoint=endpoint).aggregate(oldest=Min("created_at"))["oldest"]
    return max(0.0, ((now or timezone.now()) - oldest).total_seconds()) if oldest else 0.0


@dataclass(frozen=True)
class Lagging:
    endpoint: WebhookEndpoint
    seconds: float
    pending: int


def endpoints_lagging(at_least: float = 5.0, limit: int = 10, now: datetime | None = None) -> list[Lagging]:
    """The endpoints furthest behind (at least ``at_least`` seconds), worst first: the dashboard's list."""
    now = now or timezone.now()
    rows = _pending().values("endpoint_id").annotate(oldest=Min("created_at")).values_list("endpoint_id", "oldest")
    lag = {e: (now - at).total_seconds() for e, at in rows if e and (now - at).total_seconds() >= at_least}
    worst = sorted(lag, key=lag.__getitem__, reverse=True)[:limit]
    if not worst:
        return []
    endpoints = WebhookEndpoint.objects.select_related("client").in_bulk(worst)
    waiting = _pending().filter(endpoint_id__in=worst).values("endpoint_id").annotate(n=Count("pk"))
    counts = dict(waiting.values_list("endpoint_id", "n"))
    return [Lagging(endpoints[e], lag[e], counts.get(e, 0)) for e in worst if e in endpoints]

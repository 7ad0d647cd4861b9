"""The sweep: the outbox table, not the broker, is the source of truth. Every minute (a django-q2
schedule; ``link_deliver_due`` from cron) it fails the calls whose deadline passed while nobody held
them and enqueues every due or abandoned call, so a lost broker message or a killed worker loses
nothing."""

from django.db import transaction
from django.utils import timezone

from integration.models import OutboundCall
from integration.services.outbox import backlog
from integration.services.outbox import calls as outbound
from integration.services.outbox.kinds import own_queue_kinds


def calls_due(limit: int = 500) -> list[int]:
    """Due calls, except those an open circuit holds (``backlog_sweep`` sends their probe)."""
    now = timezone.now()
    return list(
        OutboundCall.objects.filter(outbound.calls_unheld(now), next_attempt_at__lte=now, waiting_on="")
        .exclude(kind__in=own_queue_kinds())  # deliveries to MP webhooks: their own workers and sweep
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def calls_expire() -> int:
    """Fail pending calls whose deadline passed while nobody held them (e.g. the broker was down)."""
    now = timezone.now()
    expired = 0
    ids = OutboundCall.objects.filter(outbound.calls_unheld(now), deadline__lt=now).values_list("pk", flat=True)
    for pk in ids:
        with transaction.atomic():
            call = (
                OutboundCall.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=OutboundCall.Status.PENDING)
                .first()
            )
            reason = backlog.call_expired(call) if call is not None else None
            if call is not None and reason is not None:
                outbound.call_fail(call, reason)
                expired += 1
    return expired


def calls_sweep() -> int:
    """Enqueue every due or abandoned call; the schedule runs this every minute."""
    calls_expire()
    due = list(dict.fromkeys([*backlog.backlog_sweep(), *calls_due()]))
    for pk in due:
        outbound.call_enqueue(pk)
    return len(due)

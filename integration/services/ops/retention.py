"""Retention: delete what is older than its setting, in short batches, never anything still in play.

Each table is walked by primary key (keyset: ``pk > last``) in batches of ``RETAIN_BATCH_SIZE``;
each batch is one short transaction whose DELETE repeats the condition, so a row that came back
into play since it was listed (a forced replay) stays. PostgreSQL's DELETE locks only the rows it
deletes, for as long as its batch takes: never the table.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django_fsm_log.models import StateLog
from django_q.models import Task

from integration.models import CallAttempt, NotificationEvent, Order, OutboundCall, WebhookEvent

APPLIED_EVENTS = (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED)
SETTLED_CALLS = (OutboundCall.Status.SUCCEEDED, OutboundCall.Status.FAILED, OutboundCall.Status.SKIPPED)


@dataclass
class Pruned:
    table: str
    days: int
    rows: int = 0
    batches: int = 0
    seconds: float = 0.0
    longest_batch: float = 0.0  # the longest any batch held its row locks
    done: bool = True


def _webhook_events(cutoff) -> QuerySet:
    return WebhookEvent.objects.filter(status__in=APPLIED_EVENTS, received_at__lt=cutoff)


def _call_attempts(cutoff) -> QuerySet:
    return CallAttempt.objects.filter(call__status__in=SETTLED_CALLS, call__completed_at__lt=cutoff)


def _task_results(cutoff) -> QuerySet:
    return Task.objects.filter(stopped__lt=cutoff)


def _closed_orders(cutoff) -> QuerySet:
    unsettled = OutboundCall.objects.filter(order=OuterRef("pk")).exclude(status__in=SETTLED_CALLS)
    return Order.objects.filter(state__in=Order.FINAL_STATES, placed_at__lt=cutoff).exclude(Exists(unsettled))


def _mp_events(cutoff) -> QuerySet:
    """Events for MP services (the feed) with their delivery rows, once no delivery is still in play. An
    order's newest event stays (it carries the order's last ``sequence``, which a later event continues)."""
    in_play = OutboundCall.objects.filter(event=OuterRef("pk")).exclude(status__in=SETTLED_CALLS)
    later = NotificationEvent.objects.filter(order=OuterRef("order"), sequence__gt=OuterRef("sequence"))
    return (
        NotificationEvent.objects.filter(timestamp__lt=cutoff)
        .exclude(Exists(in_play))
        .exclude(Q(order__isnull=False) & ~Exists(later))
    )


def _delete_orders(batch: QuerySet) -> int:
    """An order goes with its lines, calls and attempts (cascade) and its transition history."""
    ids = list(batch.values_list("pk", flat=True))
    StateLog.objects.filter(content_type=ContentType.objects.get_for_model(Order), object_id__in=ids).delete()
    return Order.objects.filter(pk__in=ids).delete()[1].get(Order._meta.label, 0)


def _delete(batch: QuerySet) -> int:
    return batch.delete()[1].get(batch.model._meta.label, 0)


# (table, setting with the age in days, candidates older than a cutoff, how a batch is deleted)
RULES: list[tuple[str, str, Callable, Callable]] = [
    ("webhook events (applied)", "RETAIN_WEBHOOK_DAYS", _webhook_events, _delete),
    ("call attempts (settled calls)", "RETAIN_CALL_ATTEMPT_DAYS", _call_attempts, _delete),
    ("task results (django-q2)", "RETAIN_TASK_DAYS", _task_results, _delete),
    ("orders (closed)", "RETAIN_ORDER_DAYS", _closed_orders, _delete_orders),
    ("events for MP services (feed, deliveries)", "RETAIN_MP_EVENT_DAYS", _mp_events, _delete),
]


def _prune_table(pruned: Pruned, candidates: QuerySet, delete: Callable, batch_size: int, stop_at: float) -> None:
    started = time.monotonic()
    last_pk = None
    while True:
        if time.monotonic() >= stop_at:
            pruned.done = False
            break
        page = candidates.order_by("pk")
        if last_pk is not None:
            page = page.filter(pk__gt=last_pk)
        ids = list(page.values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        t0 = time.monotonic()
        with transaction.atomic():
            pruned.rows += delete(candidates.filter(pk__in=ids))
        pruned.longest_batch = max(pruned.longest_batch, time.monotonic() - t0)
        pruned.batches += 1
        last_pk = ids[-1]
    pruned.seconds = time.monotonic() - started


def retention_prune(
    *, dry_run: bool = False, budget_seconds: float | None = None, progress: Callable[[Pruned], None] | None = None
) -> list[Pruned]:
    """Delete (or, dry, count) what each ``RETAIN_*`` setting lets go; a table whose setting is unset is kept.

    With ``budget_seconds`` it stops starting new batches after that long (``done`` False on the
    table it stopped in); a later run carries on where the rows still are.
    """
    now = timezone.now()
    stop_at = time.monotonic() + budget_seconds if budget_seconds is not None else float("inf")
    batch_size = settings.RETAIN_BATCH_SIZE
    results = []
    for table, setting, candidates_for, delete in RULES:
        days = getattr(settings, setting)
        if days is None:
            continue
        pruned = Pruned(table, days)
        candidates = candidates_for(now - timedelta(days=days))
        if dry_run:
            pruned.rows = candidates.count()
        else:
            _prune_table(pruned, candidates, delete, batch_size, stop_at)
        results.append(pruned)
        if progress:
            progress(pruned)
    return results

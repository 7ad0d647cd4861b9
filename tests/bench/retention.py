"""Retention: ``link_prune`` on a table of 1,000,000 webhook events (``BENCH_PRUNE_EVENTS``).

Nine in ten events are applied and older than ``RETAIN_WEBHOOK_DAYS``; the rest are recent, or old
but FAILED (never pruned). Prints the dry run's count and time, then the real run's rows per second
and the longest any batch held its row locks.
"""

import os
import time
from io import StringIO

EVENTS = int(os.environ.get("BENCH_PRUNE_EVENTS", "1000000"))


def bench_retention() -> list[str]:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from integration.models import WebhookEvent
    from integration.services.ops.retention import retention_prune

    from .admin import _insert_series, migrated_scratch

    lines = []
    with migrated_scratch("linkbridge_bench_prune"):
        started = time.perf_counter()
        _insert_series(
            WebhookEvent,
            EVENTS,
            {
                "event_id": "'evt_prune_' || i",
                "type": "'order.ready'",
                "venue_id": "'ven_' || mod(i, 500)",
                "external_order_id": "'mp_prune_' || i",
                "body": '\'{"id": "evt_prune_\' || i || \'", "data": {"note": "\' || repeat(\'x\', 300) || \'"}}\'',
                "status": "CASE WHEN mod(i, 50) = 1 THEN 'FAILED' ELSE 'PROCESSED' END",
                "received_at": "CASE WHEN mod(i, 10) = 0 THEN now() - i * interval '1 second' "
                "ELSE now() - interval '31 days' - i * interval '1 second' END",
            },
        )
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {WebhookEvent._meta.db_table}")
        lines.append(f"seeded {EVENTS:,} webhook events in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        out = StringIO()
        call_command("link_prune", "--dry-run", stdout=out)
        counted = next(line for line in out.getvalue().splitlines() if line.startswith("webhook events"))
        lines.append(f"link_prune --dry-run: {counted} ({time.perf_counter() - started:.2f} s)")

        pruned = next(p for p in retention_prune() if p.table.startswith("webhook events"))
        rate = pruned.rows / pruned.seconds
        lines.append(
            f"link_prune: {pruned.rows:,} deleted in {pruned.seconds:.1f} s = {rate:,.0f} rows/s, "
            f"{pruned.batches} batches of {settings.RETAIN_BATCH_SIZE}; longest lock held (one batch's "
            f"transaction, row locks only) {pruned.longest_batch * 1000:.0f} ms"
        )
        kept = WebhookEvent.objects.count()
        failed = WebhookEvent.objects.filter(status="FAILED").count()
        lines.append(f"kept {kept:,} ({failed:,} FAILED, the rest recent)")
    return lines

from django.core.management.base import BaseCommand

from integration.services.ops.retention import Pruned, retention_prune


class Command(BaseCommand):
    help = (
        "Delete, in short batches, what is older than its RETAIN_* setting: applied webhook events, attempts of "
        "settled calls, django-q2 task results, closed orders (RETAIN_ORDER_DAYS, unset: kept), events for MP "
        "services (RETAIN_MP_EVENT_DAYS). Never an unapplied event, an unsettled call or an open order."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")

    def handle(self, dry_run, **options):
        def report(p: Pruned) -> None:
            if dry_run:
                self.stdout.write(f"{p.table}: {p.rows} older than {p.days} days would be deleted")
            else:
                rate = p.rows / p.seconds if p.seconds else 0
                self.stdout.write(
                    f"{p.table}: {p.rows} older than {p.days} days deleted in {p.batches} batches, {p.seconds:.1f} s "
                    f"({rate:,.0f} rows/s), longest batch {p.longest_batch * 1000:.0f} ms"
                )

        results = retention_prune(dry_run=dry_run, progress=report)
        total = sum(p.rows for p in results)
        kept = "" if results else " (every RETAIN_* setting is unset: nothing is pruned)"
        self.stdout.write(f"{total} rows {'would be deleted (dry run)' if dry_run else 'deleted'}{kept}.")

from django.core.management.base import BaseCommand, CommandError

from integration.models import WebhookEvent
from integration.services.link_events import webhook_replay

from ._options import parse_since, progress


class Command(BaseCommand):
    help = "Re-apply stored Link webhook events. Applied events change nothing unless --force."

    def add_arguments(self, parser):
        parser.add_argument("--failed", action="store_true", help="Only events that FAILED.")
        parser.add_argument("--since", help="Received since (ISO time or 30m / 6h / 2d).")
        parser.add_argument("--ids", nargs="+", help="Only these event ids.")
        parser.add_argument("--force", action="store_true", help="Re-apply even PROCESSED/IGNORED events.")
        parser.add_argument("--dry-run", action="store_true", help="List what would be replayed.")

    def handle(self, failed, since, ids, force, dry_run, verbosity, **options):
        events = WebhookEvent.objects.order_by("received_at", "id")
        if failed:
            events = events.filter(status=WebhookEvent.Status.FAILED)
        if since:
            events = events.filter(received_at__gte=parse_since(since))
        if ids:
            events = events.filter(event_id__in=ids)
        total = events.count()
        if dry_run:
            for event in events.iterator(chunk_size=500):
                self.stdout.write(f"{event.event_id} {event.type} {event.status}")
            self.stdout.write(f"{total} events would be replayed (dry run).")
            return
        counts = {"applied": 0, "unchanged": 0, "failed": 0}
        for event in progress(events.iterator(chunk_size=500), verbosity, total=total, desc="replaying", unit="event"):
            outcome = webhook_replay(event, force=force)
            key = "failed" if outcome.failed else "unchanged" if outcome.duplicate else "applied"
            counts[key] += 1
            if outcome.failed:
                self.stderr.write(f"{event.event_id}: {outcome.event.error}")
        self.stdout.write(
            f"{total} events: {counts['applied']} applied, {counts['unchanged']} already applied, "
            f"{counts['failed']} failed."
        )
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} of {total} events failed.")

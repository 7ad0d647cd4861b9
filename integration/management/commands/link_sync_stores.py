from functools import partial
from operator import attrgetter

from django.core.management.base import BaseCommand, CommandError

from integration.services.stores import store_sync

from ._options import link_reads, stores_for_venues


class Command(BaseCommand):
    help = "Align stores' local state with Link's venue status (GET /v2/venues/{id})."

    def add_arguments(self, parser):
        parser.add_argument("--venue", action="append", help="Only this venue id (repeatable).")
        parser.add_argument("--dry-run", action="store_true", help="Show what would change; change nothing.")

    def handle(self, venue, dry_run, verbosity, **options):
        stores = stores_for_venues(venue)
        counts = {"changed": 0, "in step": 0, "skipped": 0, "errors": 0}
        total = stores.count()
        sync = partial(store_sync, dry_run=dry_run)
        bar = {"total": total, "desc": "syncing", "unit": "store"}
        for store, result in link_reads(self, stores, sync, attrgetter("venue_id"), counts, verbosity, **bar):
            if result.skipped:
                counts["skipped"] += 1
                self.stdout.write(f"{store.venue_id}: skipped, {result.skipped}")
            elif result.changes:
                counts["changed"] += 1
                self.stdout.write(
                    f"{store.venue_id}: {'would change' if dry_run else 'changed'} {'; '.join(result.changes)}"
                )
            else:
                counts["in step"] += 1
        prefix = "dry run: " if dry_run else ""
        self.stdout.write(prefix + ", ".join(f"{n} {k}" for k, n in counts.items()))
        if counts["errors"]:
            raise CommandError(f"{counts['errors']} of {total} stores could not be read from Link.")

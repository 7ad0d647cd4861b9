from functools import partial

from django.core.management.base import BaseCommand, CommandError

from integration.models import Menu, Store
from integration.services.menus.fetching import menu_refresh
from integration.services.menus.ingest import INGESTED, INVALID, NOT_ON_LINK, STALE, UNCHANGED

from ._options import link_reads, stores_for_venues


class Command(BaseCommand):
    help = (
        "Pull each store's published menu now (GET /v2/venues/{id}/menu) and ingest it, synchronously. "
        "Unchanged menus cost almost nothing; exits 1 when any fetch or menu failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--venue",
            nargs="+",
            action="extend",
            help="Only these venue ids (repeatable). Default: every store not disconnected from Link whose "
            "menu is not unpublished (a menu.published event brings those back).",
        )
        parser.add_argument("--force", action="store_true", help="Re-ingest even when the content is unchanged.")
        parser.add_argument("--dry-run", action="store_true", help="Fetch and check; write nothing.")

    def handle(self, venue, force, dry_run, verbosity, **options):
        stores = stores_for_venues(venue)
        if not venue:
            stores = stores.exclude(state=Store.State.DISCONNECTED).exclude(menu__state=Menu.State.UNPUBLISHED)
        counts = {INGESTED: 0, UNCHANGED: 0, STALE: 0, NOT_ON_LINK: 0, "failed": 0}
        total = stores.count()
        refresh = partial(menu_refresh, force=force, dry_run=dry_run)
        failed = "{0.venue_id}: fetch failed".format
        bar = {"total": total, "desc": "refreshing menus", "unit": "store"}
        for store, result in link_reads(self, stores, refresh, failed, counts, verbosity, errors="failed", **bar):
            if result.outcome == INVALID:
                counts["failed"] += 1
                self.stderr.write(f"{store.venue_id}: {result.message}")
                continue
            counts[result.outcome] += 1
            self.stdout.write(f"{store.venue_id}: {result.message}")
        words = {INGESTED: "would ingest" if dry_run else "ingested"}
        summary = ", ".join(f"{n} {words.get(k, k)}" for k, n in counts.items())
        self.stdout.write(f"{'dry run: ' if dry_run else ''}{total} stores: {summary}.")
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} of {total} stores failed: their menus were not refreshed.")

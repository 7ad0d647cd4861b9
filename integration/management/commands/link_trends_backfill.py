from django.core.management.base import BaseCommand, CommandError

from integration.services.ops.trends import trends_backfill

from ._options import parse_since, progress


class Command(BaseCommand):
    help = (
        "Roll up the trends charts' hours from --since to now (a day per short transaction), so the charts read "
        "them instead of the raw orders; the every-minute rollup keeps them up to date from then on."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            default="8d",
            help="How far back: an ISO time or a span like 8d (default 8d: the charts show 7 days).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count hours, orders and tries; write nothing.")

    def handle(self, since, dry_run, verbosity, **options):
        start = parse_since(since)
        if dry_run:
            plan = trends_backfill(start, dry_run=True)
            self.stdout.write(
                f"{plan.hours} hours from {plan.since:%Y-%m-%d %H:00} UTC would be rolled up: {plan.orders} orders, "
                f"{plan.tries} tries to Link (dry run)."
            )
            return
        with progress(None, verbosity, unit="h", desc="hours rolled up") as bar:

            def advance(hours: int, total: int) -> None:
                bar.total = total
                bar.update(hours)

            done = trends_backfill(start, progress=advance)
        if not done.hours:
            raise CommandError(f"--since {since}: nothing to roll up before now.")
        self.stdout.write(f"{done.hours} hours from {done.since:%Y-%m-%d %H:00} UTC rolled up.")

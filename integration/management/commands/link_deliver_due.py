from django.core.management.base import BaseCommand, CommandError

from integration.models import OutboundCall
from integration.services.outbox.calls import call_deliver
from integration.services.outbox.sweep import calls_due, calls_expire

from ._options import progress


class Command(BaseCommand):
    help = "Send every due or abandoned outbound call to Link now (the cron twin of the django-q2 sweep)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=1000, help="At most this many calls (default 1000).")
        parser.add_argument("--dry-run", action="store_true", help="List what is due; send nothing.")

    def handle(self, limit, dry_run, verbosity, **options):
        due = calls_due(limit)
        if dry_run:
            for call in OutboundCall.objects.filter(pk__in=due).order_by("next_attempt_at"):
                self.stdout.write(
                    f"due: #{call.pk} {call.kind} attempts={call.attempts} deadline={call.deadline:%H:%M:%S}"
                )
            self.stdout.write(f"{len(due)} calls due; nothing sent (dry run).")
            return
        expired = calls_expire()
        for pk in progress(due, verbosity, desc="delivering", unit="call", disable=not due):
            call_deliver(pk, inline_wait=0)
        counts = dict.fromkeys(OutboundCall.Status.values, 0)
        for status in OutboundCall.objects.filter(pk__in=due).values_list("status", flat=True):
            counts[status] += 1
        summary = ", ".join(f"{n} {s.lower()}" for s, n in counts.items() if n)
        self.stdout.write(f"{len(due)} due calls tried ({summary or 'none'}); {expired} expired at their deadline.")
        if counts[OutboundCall.Status.FAILED]:
            raise CommandError(f"{counts[OutboundCall.Status.FAILED]} of {len(due)} calls failed.")

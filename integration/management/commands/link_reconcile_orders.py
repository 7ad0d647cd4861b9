from functools import partial
from operator import attrgetter

from django.core.management.base import BaseCommand, CommandError

from integration.models import Order
from integration.selectors.orders import orders_to_reconcile
from integration.services.orders.recovery import order_reconcile

from ._options import link_reads, parse_since


class Command(BaseCommand):
    help = (
        "Read each order's status from Link (GET /v2/orders/{id}) and apply it under the event rules: "
        "stale never moves an order back, final states hold."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="Placed since (ISO time or 30m / 6h / 2d).")
        parser.add_argument(
            "--state",
            action="append",
            choices=Order.State.values,
            help="Only orders in this state (repeatable). Default: the open ones (PENDING, CONFIRMED, IN_PREP).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Read Link and show what would change.")

    def handle(self, since, state, dry_run, verbosity, **options):
        orders = orders_to_reconcile(since=parse_since(since) if since else None, states=state)
        total = orders.count()
        counts = {"changed": 0, "in step": 0, "left as is": 0, "errors": 0}
        reconcile = partial(order_reconcile, dry_run=dry_run)
        name, bar = attrgetter("external_order_id"), {"total": total, "desc": "reconciling", "unit": "order"}
        for order, result in link_reads(self, orders, reconcile, name, counts, verbosity, **bar):
            if result.change:
                counts["changed"] += 1
                verb = "would change" if dry_run else "changed"
                self.stdout.write(f"{order.external_order_id}: Link says {result.link_status}, {verb} {result.change}")
            elif result.note:
                counts["left as is"] += 1
                self.stdout.write(f"{order.external_order_id}: Link says {result.link_status or '-'}, {result.note}")
            else:
                counts["in step"] += 1
        prefix = "dry run: " if dry_run else ""
        self.stdout.write(f"{prefix}{total} orders: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
        if counts["errors"]:
            raise CommandError(f"{counts['errors']} of {total} orders could not be read from Link.")

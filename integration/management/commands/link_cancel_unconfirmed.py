from django.conf import settings
from django.core.management.base import BaseCommand

from integration.services.orders.recovery import orders_cancel_unconfirmed


class Command(BaseCommand):
    help = (
        "Cancel orders still PENDING after LINK_CONFIRM_DEADLINE toward Link with reason UNACCEPTED "
        "(the cron twin of the periodic sweep)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List the overdue orders; cancel nothing.")

    def handle(self, dry_run, **options):
        orders = orders_cancel_unconfirmed(dry_run=dry_run)
        for order in orders:
            self.stdout.write(f"{order.external_order_id}: placed {order.placed_at:%Y-%m-%d %H:%M:%S}, still PENDING")
        verb = "would be cancelled (dry run)" if dry_run else "cancelled toward Link (UNACCEPTED)"
        self.stdout.write(f"{len(orders)} orders not confirmed within {settings.LINK_CONFIRM_DEADLINE} s {verb}.")

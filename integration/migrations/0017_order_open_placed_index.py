"""The order board's index: open orders by state and age (a partial index, so it holds only the few
thousand orders still open, not the millions closed). Each board column reads its 30 oldest in index
order instead of sorting every open order of its state. Built concurrently on PostgreSQL (see 0016)."""

from django.db import migrations, models

from ._operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("integration", "0016_order_updated_index")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="order",
            index=models.Index(
                condition=models.Q(("state__in", ["PENDING", "CONFIRMED", "IN_PREP"])),
                fields=["state", "placed_at", "id"],
                name="order_open_placed",
            ),
        ),
    ]

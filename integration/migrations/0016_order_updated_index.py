"""The order table's ``updated_at`` index, for the trends rollup (which hours changed since it last ran).

Built with CREATE INDEX CONCURRENTLY on PostgreSQL: the order table is the big one (10 million rows a
year at 250,000 orders a day) and a plain CREATE INDEX would block every write to it while it builds.
Elsewhere (the SQLite of ``make run``) a plain index."""

from django.db import migrations, models

from ._operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("integration", "0015_trend_rollup")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="order",
            index=models.Index(fields=["updated_at"], name="order_updated"),
        ),
    ]

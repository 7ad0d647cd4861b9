"""Drop the ``varchar_pattern_ops`` copies (``..._like``) Django makes of every indexed text column on
PostgreSQL, where nothing searches by prefix (LIKE 'abc%'): searches are exact (btree) or anywhere in the
text (trigram, 0011). At a year of a large marketplace they were 1.7 GB of the webhook events' indexes and
1.1 GB of the orders', and every event stored and every order written or moved to another state paid for
each of them (orders: 24 indexes to keep up before, 19 after). Dropped concurrently, so writes go on.
"""

from django.db import migrations

PATTERN_INDEXED = {
    "integration_order": ["external_order_id", "link_order_id", "display_code", "customer_phone", "state"],
    "integration_webhookevent": ["event_id", "type", "venue_id", "external_order_id", "status"],
    "integration_outboundcall": ["kind"],
}


def _names(schema_editor):
    for table, columns in PATTERN_INDEXED.items():
        for column in columns:
            yield table, column, schema_editor._create_index_name(table, [column], suffix="_like")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _, _, name in _names(schema_editor):
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column, name in _names(schema_editor):
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "{table}" ("{column}" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("integration", "0017_order_open_placed_index")]

    operations = [migrations.RunPython(drop, create)]

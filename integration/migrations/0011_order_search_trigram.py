"""Trigram indexes for the order list's partial search (part of a customer's name or phone).

PostgreSQL only (pg_trgm ships with it): they serve Django's ``icontains`` on the name
(``UPPER(name::text) LIKE UPPER('%..%')``) and ``contains`` on the phone. Elsewhere (the SQLite
of ``make run``) nothing is created and the search scans, which is fine at demo sizes.
"""

from django.db import migrations

INDEXES = {
    "order_customer_name_trgm": 'UPPER("customer_name"::text) gin_trgm_ops',
    "order_customer_phone_trgm": '("customer_phone"::text) gin_trgm_ops',
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "integration_order" USING gin ({expression})')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("integration", "0010_callattempt_started")]

    operations = [migrations.RunPython(create, drop)]

"""Operations the migrations share (the loader skips modules whose name starts with an underscore)."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations


class _ConcurrentlyOnPostgres:
    """The concurrent operation on PostgreSQL (writes go on while a big table is indexed; the migration needs
    ``atomic = False``), its plain twin ``elsewhere`` on other databases (the SQLite of ``make run``)."""

    elsewhere: type[migrations.operations.base.Operation]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return self.elsewhere.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return self.elsewhere.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexConcurrentlyOnPostgres(_ConcurrentlyOnPostgres, AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, a plain index elsewhere."""

    elsewhere = migrations.AddIndex


class RemoveIndexConcurrentlyOnPostgres(_ConcurrentlyOnPostgres, RemoveIndexConcurrently):
    """DROP INDEX CONCURRENTLY on PostgreSQL, a plain drop elsewhere."""

    elsewhere = migrations.RemoveIndex

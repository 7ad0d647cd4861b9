import importlib

from django.db import migrations

ops_roles = importlib.import_module("integration.migrations.0006_ops_roles")


class Migration(migrations.Migration):
    """Restaurant ops and Support see webhook endpoints and their events; ops may disable or re-enable an
    endpoint. 0006 made the groups before these models existed (it granted what existed then)."""

    dependencies = [("integration", "0020_notifications")]

    operations = [migrations.RunPython(ops_roles.setup_roles, migrations.RunPython.noop)]

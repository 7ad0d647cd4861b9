"""The feed's other half: everyone's events (store and menu, no client) by (txid, id), a partial index of just
those. The feed reads them from the cursor on instead of sorting every one of them for each page. Built
concurrently on PostgreSQL (see 0016)."""

from django.db import migrations, models

from ._operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("integration", "0021_notify_roles")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="notificationevent",
            index=models.Index(
                condition=models.Q(("client__isnull", True)),
                fields=["txid", "id"],
                name="event_everyone_feed",
            ),
        ),
    ]

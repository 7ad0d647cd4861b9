from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("integration", "0009_ops_heartbeat_prune_schedule")]

    operations = [
        migrations.AddIndex(
            model_name="callattempt",
            index=models.Index(fields=["started_at"], name="attempt_started"),
        ),
    ]
